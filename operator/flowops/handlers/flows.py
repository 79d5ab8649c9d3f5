"""Flow: commit content changes as versions; publish HEAD, status and sync."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube.resources import API_GROUP, API_VERSION
from ..services import flowevents
from ..services.common import RetryLater
from .events import post
from .indexes import all_values, environment_named, environment_of_namespace, first, lookup_in
from .retries import retry_shortly

FLOW = (API_GROUP, API_VERSION, "flows")


def resume_has_work(
    body: kopf.Body,
    namespace: str,
    logger: kopf.Logger,
    environments_by_namespace: kopf.Index,
    environments_by_name: kopf.Index,
    **_: Any,
) -> bool:
    """Kopf's filter of the resume handler. A restart resumes every flow; most have nothing
    to do, and Kopf's handing of each to a thread, its progress records and log lines cost
    more than that nothing (about a quarter of a restart's event-loop time). Those are told
    from memory here, in the event loop, and logged as resumed."""
    env = first(environments_by_namespace, namespace)
    if flowevents.resumes_idle(runtime.current(), body, env, lookup_in(environments_by_name)):
        logger.info(flowevents.RESUMED_IDLE)
        return False
    return True


@kopf.on.resume(*FLOW, backoff=2, when=resume_has_work)
@kopf.on.create(*FLOW, backoff=2)
@kopf.on.update(*FLOW, backoff=2)
def reconcile_flow(
    body: kopf.Body,
    namespace: str,
    reason: kopf.Reason,
    environments_by_namespace: kopf.Index,
    environments_by_name: kopf.Index,
    retry: int,
    **_: Any,
) -> None:
    try:
        flowevents.reconcile(
            runtime.current(),
            body,
            environment_of_namespace(environments_by_namespace, namespace),
            resumed=reason == kopf.Reason.RESUME,
            env_by_name=lambda name: environment_named(environments_by_name, name),
            all_environments=lambda: all_values(environments_by_name),
            post=post,
        )
    except RetryLater as exc:
        raise retry_shortly(exc, retry, 1, body, post) from None


async def flow_event(
    type: str,
    name: str,
    namespace: str,
    meta: kopf.Meta,
    status: kopf.Status,
    environments_by_namespace: kopf.Index,
    environments_by_name: kopf.Index,
    **_: Any,
) -> None:
    # Async: runs for every watch event, and almost always without an API call.
    env = first(environments_by_namespace, namespace)  # every event: no API fallback here
    known = (first(environments_by_name, env["metadata"]["name"]) or {}).get("counts") if env else None
    await flowevents.observe(
        runtime.current(),
        type,
        name,
        namespace,
        status.get("sync"),
        env,
        env_by_name=lambda env_name: environment_named(environments_by_name, env_name),
        all_environments=lambda: all_values(environments_by_name),
        known_counts=known,
        head=status.get("latestReadyVersion"),
        post=post,
        indexed_env=lookup_in(environments_by_name),
        resource_version=meta.get("resourceVersion"),
    )
