"""Flow: commit content changes as versions; publish HEAD, status and sync."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from .. import runtime
from ..domain import flowstatus, policy
from ..domain.canonical import content_hash
from ..kube import API_GROUP, API_VERSION, FLOWS
from ..services import environments, flows, sync
from ..services.flowregistry import registry
from .events import post
from .indexes import all_values, environment_named, environment_of_namespace, first

FLOW = (API_GROUP, API_VERSION, "flows")


@kopf.on.resume(*FLOW, backoff=2)
@kopf.on.create(*FLOW, backoff=2)
@kopf.on.update(*FLOW, backoff=2)
def reconcile_flow(
    body: kopf.Body, name: str, namespace: str, status: kopf.Status, reason: kopf.Reason,
    environments_by_namespace: kopf.Index, environments_by_name: kopf.Index, **_: Any,
) -> None:
    rt = runtime.current()
    env = environment_of_namespace(environments_by_namespace, namespace)
    if not (reason == kopf.Reason.RESUME and _settled(body, env)):
        flows.reconcile(rt, body, env, post=post)
    _publish_sync(rt, name, namespace, env, status.get("sync"), environments_by_name)


@kopf.on.event(*FLOW)
async def flow_event(type: str, name: str, namespace: str, status: kopf.Status,
                     environments_by_namespace: kopf.Index, environments_by_name: kopf.Index, **_: Any) -> None:
    # Async: runs for every watch event, and almost always without an API call, so it
    # does not take a handler thread.
    deleted = type == "DELETED"
    registry.observe(namespace, name, status.get("sync"), deleted=deleted)
    env = first(environments_by_namespace, namespace)  # every event: no API fallback here
    if env is None:
        return
    if deleted:
        # Downstream flows compare against this one: tell them it is gone.
        await asyncio.to_thread(_publish_downstream, runtime.current(), name, env, environments_by_name)
    if not registry.primed(namespace):
        await asyncio.to_thread(prime, namespace)
    counts = registry.counts(namespace)
    known = (first(environments_by_name, env["metadata"]["name"]) or {}).get("counts")
    if counts is not None and known is not None and tuple(known) != counts:
        await asyncio.to_thread(environments.publish_counts, runtime.current(), env["metadata"]["name"], counts)


def _settled(body: kopf.Body, env: Any) -> bool:
    # A restart resumes every flow: those whose status already describes their spec cost
    # no API call. Rule changes made meanwhile are re-evaluated by the Environment's resume.
    spec = body.get("spec") or {}
    limit = policy.history_limit((env or {}).get("spec"), spec)
    return flowstatus.settled(body, content_hash(spec.get("content") or {}), limit, has_environment=env is not None)


def prime(namespace: str) -> None:
    kube = runtime.current().kube
    registry.prime(namespace, lambda: [i["metadata"]["name"] for i in kube.iterate(FLOWS, namespace, metadata_only=True)])


def _publish_sync(rt: runtime.Runtime, name: str, namespace: str, env: Any, current: Any,
                  environments_by_name: kopf.Index) -> None:
    by_name = lambda env_name: environment_named(environments_by_name, env_name)  # noqa: E731
    sync.publish(rt.kube, namespace, name, env, by_name, current)
    _publish_downstream(rt, name, env, environments_by_name)


def _publish_downstream(rt: runtime.Runtime, name: str, env: Any, environments_by_name: kopf.Index) -> None:
    if env is None:
        return
    by_name = lambda env_name: environment_named(environments_by_name, env_name)  # noqa: E731
    for down in sync.downstream_of(env["metadata"]["name"], all_values(environments_by_name)):
        down_ns = down["spec"]["namespace"]
        known, state = registry.sync_of(down_ns, name)
        if known:
            sync.publish(rt.kube, down_ns, name, down, by_name, state)
