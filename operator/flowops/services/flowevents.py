"""What a Flow event sets in motion besides its own commit: the resume shortcut, the
out-of-sync reports (its own and its downstream namesakes'), and the Environment counts.

Handlers call one function here per event; the Flow itself is reconciled by `flows`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from typing import Any

from ..domain import clientresume, flowstatus, history, policy, syncreport, values
from ..runtime import Runtime
from . import applications_resume, bindings_clients, environments, flowregistry, flows, sync
from .bindings_concurrency import with_retries
from .common import Poster
from .flowregistry import ApplicationWaiter, ClientWaiter, SyncSeen

EnvLookup = Callable[[str], Mapping[str, Any] | None]
# Logged for each flow whose resume is told idle from memory (and not run in a thread).
RESUMED_IDLE = "Resumed: status and sync report are current; nothing to do."
Environments = Callable[[], list[Mapping[str, Any]]]


def reconcile(
    rt: Runtime,
    flow: Mapping[str, Any],
    env: Mapping[str, Any] | None,
    resumed: bool,
    env_by_name: EnvLookup,
    all_environments: Environments,
    post: Poster,
) -> None:
    """Commit and publish the flow, then its sync report and its downstream namesakes'."""
    settled = resumed and _settled(flow, env)
    latest: Mapping[str, Any] | None = flow
    if not settled:
        outcome = flows.reconcile(rt, flow, env, post=post)
        if outcome.gone:
            return
        latest = outcome.current
        # The report names both HEADs as they are (a Promotion from the upstream published
        # it with the HEAD it moved): only the downstream namesakes' may have to follow.
        if latest is not None and _sync_current(rt, latest, env, env_by_name):
            publish_downstream(rt, flow["metadata"]["name"], env, env_by_name, all_environments)
            return
    elif _sync_current(rt, flow, env, env_by_name):
        # A restart: nothing moved here, and the report names the HEADs both sides still
        # have (or the upstream's first event checks it). Downstream flows resume on their
        # own and check theirs the same way.
        return
    meta = flow["metadata"]
    current = (flow.get("status") or {}).get("sync")
    sync.publish(rt, meta["namespace"], meta["name"], env, env_by_name, current, uid=meta.get("uid"), flow_object=latest)
    publish_downstream(rt, meta["name"], env, env_by_name, all_environments)


async def observe(
    rt: Runtime,
    type_: str,
    name: str,
    namespace: str,
    sync_state: Mapping[str, Any] | None,
    env: Mapping[str, Any] | None,
    env_by_name: EnvLookup,
    all_environments: Environments,
    known_counts: tuple[int, int] | None,
    indexed_env: EnvLookup,
    head: str | None = None,
    post: Poster | None = None,
    resource_version: str | None = None,
) -> None:
    """Every watch event: keep the registry current and the Environment's counts true.
    Async, and the API is called (from a thread) only when something must be written.
    `indexed_env`: Environments by name from the index alone (looked up in the event loop)."""
    deleted = type_ == "DELETED"
    sync_copy = dict(sync_state) if sync_state else None
    waiting = rt.flows.observe(namespace, name, sync_copy, deleted=deleted, head=head, resource_version=resource_version)
    # Most hold the HEAD this event brings: told here, without a thread.
    moved = [w.name for w in waiting if isinstance(w, ClientWaiter) and not clientresume.still_head(w.holds, head)]
    if moved:
        await asyncio.to_thread(bindings_clients.reresolve_moved, rt, namespace, moved, env, post)
    apps = [w for w in waiting if isinstance(w, ApplicationWaiter) and (deleted or not w.holds(head))]
    if apps:
        await asyncio.to_thread(applications_resume.recheck, rt, namespace, apps, env, post)
    if env is None:
        return
    downstream = [w for w in waiting if isinstance(w, str)]
    if deleted:
        # Downstream flows compare against this one: tell them it is gone.
        await asyncio.to_thread(publish_downstream, rt, name, env, env_by_name, all_environments)
    elif downstream and (stale := _stale_downstream(rt, name, head, downstream, env, all_environments)):
        await asyncio.to_thread(_republish, rt, name, stale, env_by_name)
    if not rt.flows.primed(namespace):
        await asyncio.to_thread(prime, rt, namespace)
    # Its upstream's too, before this event's resume is told: with that list in, a restart
    # tells a downstream flow idle even when its upstream's event is still to come.
    _, up_env = sync.upstream_of(env, indexed_env)
    if up_env is not None and not rt.flows.primed(up_env["spec"]["namespace"]):
        await asyncio.to_thread(prime, rt, up_env["spec"]["namespace"])
    counts = rt.flows.counts(namespace)
    if counts is not None and known_counts is not None:
        offer_counts(rt, env, counts, shown_counts(*known_counts))


def shown_counts(flows: Any, out_of_sync: Any) -> tuple[int, int] | None:
    """The counts an Environment's status shows, None while it shows none."""
    return None if flows is None or out_of_sync is None else (int(flows), int(out_of_sync))


def offer_counts(rt: Runtime, env: Mapping[str, Any], counts: tuple[int, int], known: tuple[int, int] | None) -> None:
    """To this process's one writer of the Environment's counts (environmentcounts), which
    knows what it wrote last. In the event loop. `known`: as the Environment shows them."""
    meta = env["metadata"]
    write = functools.partial(_publish_counts, rt, meta["uid"])
    rt.counts.offer(meta["uid"], meta["name"], counts, known, write)


async def _publish_counts(rt: Runtime, uid: str, environment: str, counts: tuple[int, int]) -> bool:
    return await asyncio.to_thread(environments.publish_counts, rt, environment, uid, counts)


def prime(rt: Runtime, namespace: str) -> None:
    """The flows that exist in `namespace` now, so counts wait until all have been seen."""
    flowregistry.prime(rt.flows, rt.kube, namespace)


def publish_downstream(
    rt: Runtime, name: str, env: Mapping[str, Any] | None, env_by_name: EnvLookup, all_environments: Environments
) -> None:
    if env is None:
        return
    for down in sync.downstream_of(env["metadata"]["name"], all_environments()):
        down_ns = down["spec"]["namespace"]
        seen = rt.flows.sync_of(down_ns, name)
        # Not seen yet (a restart lists every namespace at once): publish reads it rather
        # than leave its report describing the HEAD this flow just replaced.
        sync.publish(rt, down_ns, name, down, env_by_name, seen.state, resource_version=seen.resource_version)


def resumes_idle(rt: Runtime, flow: Mapping[str, Any], env: Mapping[str, Any] | None, env_by_name: EnvLookup) -> bool:
    """Whether resuming this flow would do nothing (`reconcile` with `resumed`), told from
    memory alone: it is settled, and its sync report names the upstream's HEAD as that
    flow's watch showed it, or the upstream is listed and its first event, still to come,
    will check the report (the wait is registered here, as the handler would). False
    whenever telling it would take an API call: the resume handler then decides."""
    if env is None or not _settled(flow, env):
        return False
    return _sync_decision(rt, flow, env, env_by_name, from_memory=True) in ("current", "await")


def _sync_current(rt: Runtime, flow: Mapping[str, Any], env: Mapping[str, Any] | None, env_by_name: EnvLookup) -> bool:
    """Whether status.sync may stay as it is for now: it describes this flow's HEAD against
    its upstream's HEAD as the Flow watch showed it, or the upstream's event is still to
    come and will check it then (`_stale_downstream`). No version is listed either way."""
    return _sync_decision(rt, flow, env, env_by_name) != "stale"


def _sync_decision(
    rt: Runtime, flow: Mapping[str, Any], env: Mapping[str, Any] | None, env_by_name: EnvLookup, from_memory: bool = False
) -> syncreport.Decision | None:
    """syncreport.on_resume for this flow; an `await` registers the wait for the upstream's
    first event. `from_memory`: without the upstream namespace's list when it is not in yet
    (None then, unless the upstream flow has been seen)."""
    upstream, up_env = sync.upstream_of(env, env_by_name)
    status = flow.get("status") or {}
    preserved = bool(values.preserved_paths(env))
    known: syncreport.Known = "unlisted"
    head = None
    if upstream and up_env is not None and syncreport.own_side_current(status, upstream, preserved):
        up_ns, name = up_env["spec"]["namespace"], flow["metadata"]["name"]
        if not from_memory:
            prime(rt, up_ns)  # once per namespace: tells a flow still to be seen from one that is not there
        elif not rt.flows.primed(up_ns) and not rt.flows.head_of(up_ns, name)[0]:
            return None
        known, head = rt.flows.head_or_wait(up_ns, name, waiter=flow["metadata"]["namespace"])
    return syncreport.on_resume(status, upstream, preserved, up_env is not None, known, head)


def _stale_downstream(
    rt: Runtime, name: str, head: str | None, waiting: list[str], env: Mapping[str, Any], all_environments: Environments
) -> list[tuple[Mapping[str, Any], SyncSeen]]:
    """The downstream namesakes that resumed before this flow's first event and whose
    reports name another upstream HEAD than the one this event carries. In memory only:
    a restart asks this for thousands of flows, almost always of reports still current."""
    stale = []
    for down in sync.downstream_of(env["metadata"]["name"], all_environments()):
        down_ns = down["spec"]["namespace"]
        if down_ns not in waiting:
            continue
        seen = rt.flows.sync_of(down_ns, name)
        if seen.known and syncreport.on_upstream_event(seen.state, head) == "stale":
            stale.append((down, seen))
    return stale


def _republish(rt: Runtime, name: str, stale: list[tuple[Mapping[str, Any], SyncSeen]], env_by_name: EnvLookup) -> None:
    for down, seen in stale:
        down_ns = down["spec"]["namespace"]
        # From an event handler, which Kopf does not retry: retry here, then log.
        with_retries(
            functools.partial(
                sync.publish, rt, down_ns, name, down, env_by_name, seen.state, resource_version=seen.resource_version
            ),
            f"re-publishing the sync report of Flow {down_ns}/{name}",
        )


def _settled(flow: Mapping[str, Any], env: Mapping[str, Any] | None) -> bool:
    # A restart resumes every flow: those whose status already describes their spec cost
    # no API call. Rule changes made meanwhile are re-evaluated by the Environment's resume.
    spec = flow.get("spec") or {}
    if (flow.get("status") or {}).get("deletionPolicy") != history.policy_of(spec):
        return False  # its versions do not follow spec.deletionPolicy yet
    limit = policy.history_limit((env or {}).get("spec"), spec)
    return flowstatus.settled(flow, limit, has_environment=env is not None)


def counts(rt: Runtime, namespace: str | None) -> tuple[int, int] | None:
    """(flows, out of sync) in `namespace`; None until every flow there has been seen
    (the flows' own events publish the counts then)."""
    if not namespace:
        return None
    prime(rt, namespace)
    return rt.flows.counts(namespace)
