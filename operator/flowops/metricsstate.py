"""State gauges (kube-state-metrics style), computed at scrape time from what the watch
streams last said about each object: flows by sync state and readiness, API clients by
resolution, Promotions not yet terminal and how long approvals wait, objects whose latest
generation the operator has not yet observed (the backlog), and one info series per flow.

Memory: a few short strings per object, no documents. Series: every gauge but
`flowops_flow_info` is labelled by environment and a small closed set of states, so it
does not grow with flows; `flowops_flow_info` has exactly one series per flow (its labels
are replaced when HEAD moves, never accumulated) and is capped (FLOWOPS_METRICS_FLOW_INFO_LIMIT,
production flows first), the number left out being reported.

Only the active replica reports state. A replica Kopf pauses (peering: a peer with a higher
priority runs) stops its watch streams, so what it knows freezes; it forgets it
(`State.set_paused`), exports `flowops_active 0` and no state gauges until it resumes, when
Kopf lists every kind again and the state is rebuilt from that listing.

Kopf's re-list after a broken watch (410 Gone, an API server restart, a resume) re-delivers
the objects that still exist and says nothing of those deleted meanwhile. Every entry
remembers when an event last spoke of it; after a re-list, a metadata-only list of the
kind (`forget_absent`, services/statesweep.py) drops the entries it does not name that no
event has spoken of since that list began.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as Tally
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from . import envsettings, metrics
from .domain import policy

Key = tuple[str, str]  # (namespace, name)
KINDS = ("Environment", "Flow", "ApiClient", "Promotion")


@dataclass(frozen=True)
class FlowState:
    head: str
    number: str
    sync: str
    ready: str


@dataclass(frozen=True)
class EnvState:
    namespace: str
    upstream: str
    tier: str
    protected: bool = False


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return next((c for c in status.get("conditions") or () if c.get("type") == kind), {})


def _behind(body: Mapping[str, Any]) -> bool:
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    return status.get("observedGeneration") != meta.get("generation")


class State:
    def __init__(self, flow_info_limit: int | None = None) -> None:
        self._lock = threading.Lock()
        self.environments: dict[str, EnvState] = {}
        self.flows: dict[Key, FlowState] = {}
        self.clients: dict[Key, tuple[str, str]] = {}
        self.promotions: dict[Key, tuple[str, float]] = {}
        self.backlog: dict[tuple[str, str, str], float] = {}  # (kind, namespace, name) -> since
        # (kind, namespace, name) -> when an event last spoke of it (monotonic), while held.
        self.seen: dict[tuple[str, str, str], float] = {}
        self.paused = False
        self.relisted = False  # a listing (type=None event) arrived since the last sweep began
        self.flow_info_limit = (
            flow_info_limit if flow_info_limit is not None else envsettings.integer("FLOWOPS_METRICS_FLOW_INFO_LIMIT")
        )

    # -- fed by the watch handlers ----------------------------------------------------------
    def observe_environment(self, body: Mapping[str, Any], deleted: bool, listing: bool = False) -> None:
        name, spec = body["metadata"]["name"], body.get("spec") or {}
        with self._lock:
            self._drop_environment(name)
            if not deleted and spec.get("namespace"):
                self.environments[name] = EnvState(
                    spec["namespace"], spec.get("upstream") or "", spec.get("tier") or "", policy.protected(spec)
                )
                metrics.set_environment(spec["namespace"], name)
            self._note("Environment", ("", name), listing)

    def _drop_environment(self, name: str) -> None:
        old = self.environments.pop(name, None)
        if old is not None:
            metrics.set_environment(old.namespace, None)

    def observe_flow(self, body: Mapping[str, Any], deleted: bool, listing: bool = False) -> None:
        key = self._key(body)
        status = body.get("status") or {}
        state = FlowState(
            head=str(status.get("latestReadyVersion") or ""),
            number=str(status.get("latestReadyNumber") or ""),
            sync=str((status.get("sync") or {}).get("state") or "NoUpstream"),
            ready=str(_condition(status, "Ready").get("status") or "Unknown"),
        )
        with self._lock:
            if deleted:
                self.flows.pop(key, None)
            else:
                self.flows[key] = state
            self._track_backlog("Flow", key, body, deleted)
            self._note("Flow", key, listing)

    def observe_client(self, body: Mapping[str, Any], deleted: bool, listing: bool = False) -> None:
        key = self._key(body)
        resolved = _condition(body.get("status") or {}, "Resolved")
        with self._lock:
            if deleted:
                self.clients.pop(key, None)
            else:
                self.clients[key] = (str(resolved.get("status") or "Unknown"), str(resolved.get("reason") or "Pending"))
            self._track_backlog("ApiClient", key, body, deleted)
            self._note("ApiClient", key, listing)

    def observe_promotion(self, body: Mapping[str, Any], deleted: bool, listing: bool = False) -> None:
        key = self._key(body)
        phase = str((body.get("status") or {}).get("phase") or "Pending")
        created = metrics.parse_time(body["metadata"].get("creationTimestamp"))
        with self._lock:
            if deleted or phase in ("Succeeded", "Failed"):
                self.promotions.pop(key, None)
            else:
                self.promotions[key] = (phase, created.timestamp() if created else time.time())
            self._track_backlog("Promotion", key, body, deleted)
            self._note("Promotion", key, listing)

    def _key(self, body: Mapping[str, Any]) -> Key:
        meta = body["metadata"]
        return meta.get("namespace") or "", meta["name"]

    def _entries(self, kind: str) -> dict[Any, Any]:
        entries: dict[str, dict[Any, Any]] = {
            "Environment": self.environments,
            "Flow": self.flows,
            "ApiClient": self.clients,
            "Promotion": self.promotions,
        }
        return entries[kind]

    def _held(self, kind: str, key: Key) -> bool:
        entries = self._entries(kind)
        return (key[1] if kind == "Environment" else key) in entries or (kind, *key) in self.backlog

    def _note(self, kind: str, key: Key, listing: bool) -> None:
        """Remembers when an event last spoke of an entry still held (none for what is gone)."""
        if listing:
            self.relisted = True
        if self._held(kind, key):
            self.seen[(kind, *key)] = time.monotonic()
        else:
            self.seen.pop((kind, *key), None)

    def _track_backlog(self, kind: str, key: Key, body: Mapping[str, Any], deleted: bool) -> None:
        entry = (kind, *key)
        if deleted or not _behind(body):
            self.backlog.pop(entry, None)
        else:
            self.backlog.setdefault(entry, time.time())

    # -- peering and re-lists ------------------------------------------------------------------
    def set_paused(self, paused: bool) -> None:
        """Kopf paused (or resumed) this replica. Pausing forgets everything: the watch
        streams stop, so it could only go stale; resuming re-lists every kind."""
        with self._lock:
            self.paused = paused
            if paused:
                for name in list(self.environments):
                    self._drop_environment(name)
                self.flows.clear()
                self.clients.clear()
                self.promotions.clear()
                self.backlog.clear()
                self.seen.clear()
                self.relisted = False

    def start_sweep(self) -> list[str]:
        """The kinds a sweep should list, if a re-list happened since the last sweep began
        (and the replica is active); [] otherwise. Clears the mark: a listing that arrives
        during the sweep marks the next one."""
        with self._lock:
            if self.paused or not self.relisted:
                return []
            self.relisted = False
            return [kind for kind in KINDS if any(k == kind for k, _, _ in self.seen)]

    def listed(self) -> None:
        """Kopf listed a kind: also when the list is empty, which brings no event at all."""
        with self._lock:
            self.relisted = True

    def sweep_failed(self) -> None:
        with self._lock:
            self.relisted = True

    def forget_absent(self, kind: str, present: set[Key], started: float) -> int:
        """Drops the entries of `kind` that a list begun at `started` (monotonic) did not
        name and no event has spoken of since: deleted while no watch stream ran. Returns
        how many."""
        with self._lock:
            gone = [
                (ns, name) for (k, ns, name), at in self.seen.items() if k == kind and at < started and (ns, name) not in present
            ]
            for key in gone:
                if kind == "Environment":
                    self._drop_environment(key[1])
                else:
                    self._entries(kind).pop(key, None)
                self.backlog.pop((kind, *key), None)
                self.seen.pop((kind, *key), None)
            return len(gone)

    # -- read at scrape time ----------------------------------------------------------------
    def snapshot(
        self,
    ) -> tuple[
        dict[str, EnvState],
        dict[Key, FlowState],
        dict[Key, tuple[str, str]],
        dict[Key, tuple[str, float]],
        dict[tuple[str, str, str], float],
    ]:
        with self._lock:
            return (dict(self.environments), dict(self.flows), dict(self.clients), dict(self.promotions), dict(self.backlog))


class StateCollector(Collector):
    def __init__(self, state: State) -> None:
        self.state = state

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # computed at scrape time; no fixed samples to describe

    def collect(self) -> Iterator[GaugeMetricFamily]:
        paused = self.state.paused
        yield GaugeMetricFamily(
            "flowops_active",
            "1 on the replica that works (and reports the state gauges), 0 on one Kopf has paused "
            "(peering: another replica has a higher priority).",
            value=0 if paused else 1,
        )
        if paused:
            return  # what a paused replica knows is stale: the active one reports
        envs, flows, clients, promotions, backlog = self.state.snapshot()
        now = time.time()
        env_of = {e.namespace: name for name, e in envs.items()}
        tier_of = {e.namespace: e.tier for e in envs.values()}

        family = GaugeMetricFamily(
            "flowops_environment_info",
            "One series per Environment: its namespace, tier, upstream and protection "
            "(join on environment, e.g. to select production).",
            labels=["environment", "namespace", "tier", "upstream", "protected"],
        )
        for name, env in sorted(envs.items()):
            family.add_metric([name, env.namespace, env.tier, env.upstream, "true" if env.protected else "false"], 1)
        yield family

        by_state = Tally((env_of.get(ns, ""), f.sync, f.ready) for (ns, _), f in flows.items())
        names_in = {ns: set() for ns in env_of}  # type: dict[str, set[str]]
        for ns, name in flows:
            names_in.setdefault(ns, set()).add(name)
        for name, env in envs.items():
            upstream = envs.get(env.upstream)
            if upstream is not None:
                missing = len(names_in.get(upstream.namespace, set()) - names_in.get(env.namespace, set()))
                by_state[(name, "NotPromoted", "")] += missing
        family = GaugeMetricFamily(
            "flowops_flows",
            "Flows per environment by sync state with the upstream (InSync, OutOfSync, UpstreamMissing, "
            "NoUpstream; NotPromoted counts upstream flows absent here) and Ready condition.",
            labels=["environment", "sync", "ready"],
        )
        for labels, count in sorted(by_state.items()):
            family.add_metric(list(labels), count)
        yield family

        family = GaugeMetricFamily(
            "flowops_apiclients",
            "ApiClients per environment by Resolved condition and its reason.",
            labels=["environment", "resolved", "reason"],
        )
        for client_key, count in sorted(Tally((env_of.get(ns, ""), *c) for (ns, _), c in clients.items()).items()):
            family.add_metric(list(client_key), count)
        yield family

        family = GaugeMetricFamily(
            "flowops_promotions_non_terminal",
            "Promotions not yet Succeeded or Failed, by target environment and phase.",
            labels=["environment", "phase"],
        )
        for promotion_key, count in sorted(Tally((env_of.get(ns, ""), p[0]) for (ns, _), p in promotions.items()).items()):
            family.add_metric(list(promotion_key), count)
        yield family

        oldest: dict[str, float] = {}
        for (ns, _), (phase, created) in promotions.items():
            if phase == "AwaitingApproval":
                waiting_in = env_of.get(ns, "")
                oldest[waiting_in] = min(oldest.get(waiting_in, created), created)
        family = GaugeMetricFamily(
            "flowops_promotions_awaiting_approval_oldest_seconds",
            "Age of the oldest Promotion awaiting approval, by target environment (absent when none waits).",
            labels=["environment"],
        )
        for waiting_in, created in sorted(oldest.items()):
            family.add_metric([waiting_in], max(now - created, 0.0))
        yield family

        behind = GaugeMetricFamily(
            "flowops_reconcile_backlog",
            "Objects whose latest spec the operator has not yet reported on "
            "(status.observedGeneration behind metadata.generation), by kind.",
            labels=["kind"],
        )
        age = GaugeMetricFamily(
            "flowops_reconcile_backlog_oldest_seconds",
            "How long the oldest object in the backlog has waited, by kind.",
            labels=["kind"],
        )
        kinds = Tally(kind for kind, _, _ in backlog)
        for kind in ("Flow", "ApiClient", "Promotion"):
            since = [t for (k, _, _), t in backlog.items() if k == kind]
            behind.add_metric([kind], kinds.get(kind, 0))
            age.add_metric([kind], max(now - min(since), 0.0) if since else 0.0)
        yield behind
        yield age

        info = GaugeMetricFamily(
            "flowops_flow_info",
            "One series per flow: its environment and HEAD (the newest ready version), sync state "
            "and readiness. Capped by FLOWOPS_METRICS_FLOW_INFO_LIMIT, production flows first.",
            labels=["environment", "namespace", "flow", "head_version", "head_number", "sync", "ready"],
        )
        ordered = sorted(flows.items(), key=lambda item: (tier_of.get(item[0][0]) != "Production", item[0]))
        for (ns, name), f in ordered[: max(self.state.flow_info_limit, 0)]:
            info.add_metric([env_of.get(ns, ""), ns, name, f.head, f.number, f.sync, f.ready], 1)
        yield info
        yield GaugeMetricFamily(
            "flowops_flow_info_omitted",
            "Flows left out of flowops_flow_info by its series limit.",
            value=max(len(flows) - max(self.state.flow_info_limit, 0), 0),
        )


state = State()
_registered = False


def register() -> State:
    global _registered
    if not _registered:
        REGISTRY.register(StateCollector(state))
        _registered = True
    return state
