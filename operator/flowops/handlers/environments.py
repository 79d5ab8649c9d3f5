"""Environment: policy validation, counts, and re-evaluation when guardrails change."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube.resources import API_GROUP, API_VERSION
from ..services import environmentreconcile, environments
from .events import post
from .indexes import environment_named, environment_of_namespace

ENVIRONMENT = (API_GROUP, API_VERSION, "environments")


@kopf.on.resume(*ENVIRONMENT, backoff=2)
@kopf.on.create(*ENVIRONMENT, backoff=2)
@kopf.on.update(*ENVIRONMENT, backoff=2)
async def reconcile_environment(
    body: kopf.Body, environments_by_name: kopf.Index, environments_by_namespace: kopf.Index, **_: Any
) -> None:
    try:
        await environmentreconcile.reconcile(
            runtime.current(),
            body,
            lambda name: environment_named(environments_by_name, name),
            post,
            namespace_owner=lambda namespace: environment_of_namespace(environments_by_namespace, namespace),
        )
    except environments.ReevaluationIncomplete as exc:
        raise kopf.TemporaryError(str(exc), delay=5) from None


async def rival_takes_over(
    type: str,
    spec: kopf.Spec,
    environments_by_namespace: kopf.Index,
    environments_by_name: kopf.Index,
    **_: Any,
) -> None:
    """An Environment was deleted: one it kept out of its namespace (a rival claim) governs
    now. Reconciled at once, so its rules judge the flows there and its status says so,
    without waiting for its next change or a restart."""
    namespace = spec.get("namespace")
    if type != "DELETED" or not namespace:
        return
    rt = runtime.current()
    for entry in list(environments_by_namespace.get(namespace, ())):
        try:
            await environmentreconcile.reconcile_named(
                rt,
                entry["metadata"]["name"],
                lambda name: environment_named(environments_by_name, name),
                post,
                namespace_owner=lambda ns: environment_of_namespace(environments_by_namespace, ns),
            )
        except environments.ReevaluationIncomplete:
            pass  # done at its next change or restart; its Warning Event names what failed
