"""Environment: policy validation, counts, and re-evaluation when guardrails change."""

from __future__ import annotations

from typing import Any

import kopf

from .. import listings, runtime
from ..domain import upstreamchain
from ..kube.resources import API_GROUP, API_VERSION
from ..services import environmentreconcile, environments
from .events import post
from .indexes import environment_named, environment_of_namespace, first

ENVIRONMENT = (API_GROUP, API_VERSION, "environments")


@kopf.on.resume(*ENVIRONMENT, backoff=2)
@kopf.on.create(*ENVIRONMENT, backoff=2)
@kopf.on.update(*ENVIRONMENT, backoff=2)
async def reconcile_environment(
    body: kopf.Body,
    reason: str,
    old: Any,
    new: Any,
    environments_by_name: kopf.Index,
    environments_by_namespace: kopf.Index,
    **_: Any,
) -> None:
    if reason == kopf.Reason.UPDATE and _upstream(old) != _upstream(new):
        # Chains through this one changed. First: a failure of its own reconcile below must
        # not hold them back. (Creation and deletion: chain_changed; resume reconciles all.)
        await _reconcile_each(
            _dependents(body["metadata"]["name"], environments_by_name), environments_by_name, environments_by_namespace
        )
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
    claims = [entry["metadata"]["name"] for entry in list(environments_by_namespace.get(namespace, ()))]
    await _reconcile_each(claims, environments_by_name, environments_by_namespace)


async def chain_changed(
    name: str, type: str, environments_by_name: kopf.Index, environments_by_namespace: kopf.Index, **_: Any
) -> None:
    """An Environment came or went: those whose upstream chain passes through it say so now
    (a missing upstream, or one that exists again). Not on other events: status writes are
    frequent and change no chain; a spec.upstream change is reconcile_environment's."""
    if type in ("ADDED", "DELETED"):
        await _reconcile_each(_dependents(name, environments_by_name), environments_by_name, environments_by_namespace)


async def namespace_changed(
    name: str, type: str, environments_by_namespace: kopf.Index, environments_by_name: kopf.Index, **_: Any
) -> None:
    """A namespace came or went: the Environments naming it say whether it exists without
    waiting for their next change (GitOps often applies namespaces separately). The start-up
    listing is left alone: every Environment is resumed then. A re-list (type=None again)
    may bring a namespace created while no watch ran: its Environments look again. A
    namespace no Environment names (most of a large cluster) costs a dictionary lookup."""
    if type not in ("ADDED", "DELETED") and not (type is None and listings.relisted("namespaces")):
        return
    claims = [entry["metadata"]["name"] for entry in list(environments_by_namespace.get(name, ()))]
    await _reconcile_each(claims, environments_by_name, environments_by_namespace)


def _upstream(essence: Any) -> str | None:
    upstream: str | None = ((essence or {}).get("spec") or {}).get("upstream")
    return upstream


def _dependents(name: str, environments_by_name: kopf.Index) -> list[str]:
    upstream_of = {key: _upstream(first(environments_by_name, key)) for key in list(environments_by_name.keys())}
    return upstreamchain.dependents(name, upstream_of)


async def _reconcile_each(names: list[str], environments_by_name: kopf.Index, environments_by_namespace: kopf.Index) -> None:
    """Each Environment as stored now, one after another (few: they are people's objects).
    Each writes only if its status changes, so a status write it makes triggers nothing here."""
    rt = runtime.current()
    for name in names:
        try:
            await environmentreconcile.reconcile_named(
                rt,
                name,
                lambda other: environment_named(environments_by_name, other),
                post,
                namespace_owner=lambda ns: environment_of_namespace(environments_by_namespace, ns),
            )
        except environments.ReevaluationIncomplete:
            pass  # done at its next change or restart; its Warning Event names what failed
