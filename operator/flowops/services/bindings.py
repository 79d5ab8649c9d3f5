"""Resolve ApiClients and Applications against the flows that exist; materialise the
resolved flow of each ApiClient in its ConfigMap.

Level-based: every call reads the client, its Application, the Flow, the version list
(metadata only) and the ConfigMap's metadata, then writes only what differs. The
document is read only when the ConfigMap must be rewritten. A large fan-out lists the
clients and ConfigMaps once instead of reading them one by one.
"""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..domain import bindingstatus, materialise, policy
from ..domain.binding import Resolution, resolve_request
from ..domain.bindingtarget import Problem, check_selector, choose_version, flow_missing, is_head_selector
from ..domain.canonical import canonical_json
from ..domain.commit import VersionRecord
from ..domain.conditions import find
from ..domain.materialise import Fingerprint
from ..kube import APICLIENTS, APPLICATIONS, CONFIGMAPS, FLOWS, FLOWVERSIONS, Kube, NotFound
from ..names import LABEL_MATERIALISED
from ..runtime import Runtime
from . import versions
from .flows import rfc3339

log = logging.getLogger(__name__)

Poster = Callable[[Mapping[str, Any], str, str, str], None]


def _no_events(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    log.info("%s %s: %s", type_, reason, message)


# One reconcile per object at a time: a client's own handler and a fan-out from its
# Flow or Application may run together in the handler thread pool.
_locks: defaultdict[tuple[str, str, str], threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def _lock(kind: str, namespace: str, name: str) -> threading.Lock:
    with _locks_guard:
        return _locks[(kind, namespace, name)]


# When each client's last reconcile ended, on a process-wide sequence: a snapshot listed
# before that may not show what the reconcile wrote.
_sequence = itertools.count()
_reconciled: dict[tuple[str, str], int] = {}

# From this many clients on, a fan-out lists clients and ConfigMaps instead of GETting each.
SNAPSHOT_MIN_CLIENTS = 4


@dataclass(frozen=True)
class Snapshot:
    """One namespace's ApiClients and the metadata of flowops' ConfigMaps, by name, listed
    after sequence number `taken`. Names it lacks (new clients, foreign ConfigMaps) are
    read one by one."""

    namespace: str
    taken: int
    clients: Mapping[str, Mapping[str, Any]]
    configmaps: Mapping[str, Mapping[str, Any]]

    def usable(self, namespace: str, last_reconciled: int | None) -> bool:
        """Not for a client reconciled since the listing began: that reconcile may have
        written (its own handler, or the failed attempt this one retries). A change not
        yet reconciled is safe: its handler runs after us and reads fresh."""
        return namespace == self.namespace and (last_reconciled is None or last_reconciled < self.taken)


class Reads:
    """What one fan-out reads once and shares across its clients: the Flow, its version
    list, Applications, materialised documents and, for many clients, a Snapshot. A fresh
    one per fan-out, so nothing is cached across events; benign races only duplicate a read."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._memo: dict[tuple[str, ...], Any] = {}
        self.snapshot: Snapshot | None = None

    def take_snapshot(self, namespace: str) -> None:
        """Two LISTs instead of two GETs per client (the ConfigMaps as metadata only)."""
        taken = next(_sequence)
        clients = self.kube.list(APICLIENTS, namespace)
        maps = self.kube.list(CONFIGMAPS, namespace, label_selector=f"{LABEL_MATERIALISED}=true", metadata_only=True)
        self.snapshot = Snapshot(
            namespace, taken, {c["metadata"]["name"]: c for c in clients}, {m["metadata"]["name"]: m["metadata"] for m in maps},
        )

    def snapshot_for(self, namespace: str, client: str) -> Snapshot | None:
        """The snapshot if it may stand in for fresh reads of this client (call under its lock)."""
        snapshot = self.snapshot
        return snapshot if snapshot is not None and snapshot.usable(namespace, _reconciled.get((namespace, client))) else None

    def _get(self, key: tuple[str, ...], load: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    def flow(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._get(("flow", namespace, name), lambda: self.kube.get_or_none(FLOWS, name, namespace))

    def records(self, namespace: str, flow: str, uid: str) -> list[VersionRecord]:
        return self._get(("records", namespace, flow, uid), lambda: versions.list_records(self.kube, namespace, flow, owner_uid=uid))

    def application(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._get(("app", namespace, name), lambda: self.kube.get_or_none(APPLICATIONS, name, namespace))

    def document(self, namespace: str, flow: str, version_id: str) -> tuple[bytes, str]:
        """Canonical JSON and transition of a version (immutable, so safe to share)."""
        def load() -> tuple[bytes, str]:
            version = self.kube.get(FLOWVERSIONS, versions.version_name(flow, version_id), namespace)
            document = versions.decode(self.kube, namespace, flow, version)
            return canonical_json(document), (version.get("spec") or {}).get("transition") or "RestartInProgress"
        return self._get(("doc", namespace, flow, version_id), load)


FAN_OUT_THREADS = 8


@dataclass(frozen=True)
class ClientOutcome:
    status: dict[str, Any]
    rewritten: bool


# -- shared resolution ----------------------------------------------------------------

def _env_facts(env: Mapping[str, Any] | None) -> tuple[bool, str]:
    name = ((env or {}).get("metadata") or {}).get("name") or "(none)"
    return policy.allow_head_bindings((env or {}).get("spec")), name


def _target(reads: Reads, namespace: str, flow: str, selector_text: str, env: Mapping[str, Any] | None) -> VersionRecord | Problem:
    allow_head, env_name = _env_facts(env)
    selector = check_selector(selector_text, allow_head=allow_head, environment=env_name)
    if isinstance(selector, Problem):
        return selector
    flow_obj = reads.flow(namespace, flow)
    if flow_obj is None:
        return flow_missing(namespace, flow)
    head = (flow_obj.get("status") or {}).get("latestReadyVersion")
    records = reads.records(namespace, flow, flow_obj["metadata"]["uid"])
    return choose_version(flow, selector, records, head)


# -- ApiClient ------------------------------------------------------------------------

def reconcile_client(rt: Runtime, namespace: str, name: str, env: Mapping[str, Any] | None, post: Poster = _no_events,
                     reads: Reads | None = None) -> ClientOutcome | None:
    """Read inside the lock, fresh or from a fan-out's snapshot if still valid: an event's
    body may predate a fan-out's status write."""
    reads = reads or Reads(rt.kube)
    with _lock("ApiClient", namespace, name):
        snapshot = reads.snapshot_for(namespace, name)
        try:
            if snapshot is not None and name in snapshot.clients:
                client: Mapping[str, Any] | None = snapshot.clients[name]
            else:
                client = rt.kube.get_or_none(APICLIENTS, name, namespace)
            if client is None or client["metadata"].get("deletionTimestamp"):
                return None
            return _reconcile_client(rt, client, env, post, reads, snapshot)
        finally:
            _reconciled[(namespace, name)] = next(_sequence)


def reresolve_clients(rt: Runtime, namespace: str, names: Iterable[str], env: Mapping[str, Any] | None, post: Poster = _no_events) -> None:
    """Re-resolve each named client, several at a time, sharing the reads; one failing
    client does not stop the others (its own handler, or the next event, retries it)."""
    reads = Reads(rt.kube)
    todo = sorted(set(names))
    if len(todo) >= SNAPSHOT_MIN_CLIENTS:
        reads.take_snapshot(namespace)

    def one(name: str) -> None:
        _with_retries(lambda: reconcile_client(rt, namespace, name, env, post, reads), f"re-resolving ApiClient {namespace}/{name}")

    if len(todo) <= 1:
        for name in todo:
            one(name)
        return
    # Kopf's poster reads its queue from context variables: each worker runs in a copy.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=min(FAN_OUT_THREADS, len(todo)), thread_name_prefix="fan-out") as pool:
        list(pool.map(lambda name: context.copy().run(one, name), todo))


def _with_retries(call: Callable[[], object], what: str, attempts: int = 3, delay: float = 0.5) -> None:
    """Event handlers are not retried by Kopf: retry transient API errors here, then log."""
    for attempt in range(1, attempts + 1):
        try:
            call()
            return
        except Exception:  # noqa: BLE001 - one failing object must not stop the fan-out
            if attempt == attempts:
                log.exception("%s failed %d times; the next event retries it", what, attempts)
                return
            time.sleep(delay * attempt)


def reresolve_applications(rt: Runtime, namespace: str, clients: Mapping[str, int], env: Mapping[str, Any] | None, post: Poster = _no_events) -> None:
    """Refresh the status of each named Application (name → its number of clients)."""
    for name, count in sorted(clients.items()):
        _with_retries(lambda: reconcile_application(rt, namespace, name, env, count, post), f"refreshing Application {namespace}/{name}")


def _request(reads: Reads, client: Mapping[str, Any]) -> Resolution:
    spec = client.get("spec") or {}
    application = spec.get("application")
    app = reads.application(client["metadata"]["namespace"], application) if application else None
    return resolve_request(spec, (app.get("spec") or {}) if app is not None else None)


def _configmap_metadata(kube: Kube, namespace: str, name: str, snapshot: Snapshot | None) -> Mapping[str, Any] | None:
    """Metadata only: the document is not transferred just to learn what it is."""
    if snapshot is not None and name in snapshot.configmaps:
        return snapshot.configmaps[name]
    found = kube.get_metadata(CONFIGMAPS, name, namespace)
    return found.get("metadata") if found else None


def _reconcile_client(rt: Runtime, client: Mapping[str, Any], env: Mapping[str, Any] | None, post: Poster, reads: Reads,
                      snapshot: Snapshot | None) -> ClientOutcome:
    kube = rt.kube
    meta = client["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    previous = client.get("status") or {}
    request = _request(reads, client)
    cm_name = materialise.configmap_name(name)
    cm_meta = _configmap_metadata(kube, namespace, cm_name, snapshot)
    owner = materialise.ownership(cm_meta, name, meta["uid"])
    if owner == "stale":
        _delete_stale(kube, namespace, cm_name, cm_meta)
        owner, cm_meta = "absent", None
    held = materialise.fingerprint_of(cm_meta) if owner == "ours" else None

    target: VersionRecord | Problem
    if not request.resolved:
        target = Problem("FlowNotSet", request.missing_message or "no flow name set")
    elif owner == "foreign":
        target = Problem(
            "ConfigMapConflict",
            f"ConfigMap {cm_name} exists and is not managed by flowops for this ApiClient: rename or delete it",
        )
    else:
        assert request.name is not None and request.version is not None
        target = _target(reads, namespace, request.name, request.version, env)

    rewritten = False
    problem: Problem | None = target if isinstance(target, Problem) else None
    if isinstance(target, VersionRecord):
        assert request.name is not None
        written = _materialise(kube, reads, client, request.name, target, held, cm_meta)
        if isinstance(written, Problem):
            problem = written
        else:
            rewritten = written != held
            if rewritten:
                post(client, "Normal", "BindingChanged", f"{held.describe() if held else 'nothing'} → {written.describe()}")
            held = written

    follows_head = problem is None and request.version is not None and is_head_selector(request.version)
    facts = bindingstatus.ClientFacts(
        generation=meta.get("generation"), request=request, materialised=held, config_map=cm_name,
        follows_head=follows_head, problem=problem,
    )
    status = bindingstatus.client_status(facts, previous, rfc3339(rt.clock()))
    if not bindingstatus.same_status(previous, status):
        kube.patch_status(APICLIENTS, name, status, namespace)
    if problem is not None and _condition_changed(previous, status, "Resolved"):
        post(client, "Warning", problem.reason, find(status["conditions"], "Resolved")["message"])  # type: ignore[index]
    return ClientOutcome(status, rewritten)


def _delete_stale(kube: Kube, namespace: str, name: str, cm_meta: Mapping[str, Any] | None) -> None:
    """The ConfigMap of a deleted namesake client: garbage collection would remove it, but
    only after a while; remove it now (that very object, by uid) so the new client gets its own."""
    body = {"propagationPolicy": "Background", "preconditions": {"uid": (cm_meta or {}).get("uid")}}
    try:
        kube.request("DELETE", CONFIGMAPS.path(namespace, name), body=body)
    except NotFound:
        pass


def _condition_changed(previous: Mapping[str, Any], status: Mapping[str, Any], type_: str) -> bool:
    """Warn once per new problem, not on every re-resolution that finds the same one."""
    before = find(previous.get("conditions"), type_) or {}
    after = find(status.get("conditions"), type_) or {}
    return any(before.get(k) != after.get(k) for k in ("status", "reason", "message"))


def _materialise(
    kube: Kube,
    reads: Reads,
    client: Mapping[str, Any],
    flow: str,
    record: VersionRecord,
    held: Fingerprint | None,
    cm_meta: Mapping[str, Any] | None,
) -> Fingerprint | Problem:
    """Write the ConfigMap when it does not hold this version yet; returns what it holds."""
    if held is not None and materialise.up_to_date(held, flow, record.id, record.content_hash):
        return held
    namespace = client["metadata"]["namespace"]
    raw, transition = reads.document(namespace, flow, record.id)
    fingerprint = Fingerprint(
        flow=flow,
        version=record.id,
        number=record.number,
        contentHash="sha256:" + hashlib.sha256(raw).hexdigest(),  # = canonical.content_hash, without serialising twice
        transition=transition,
    )
    if fingerprint == held:
        return held
    data = materialise.data_for(fingerprint, raw.decode("utf-8"))
    too_large = materialise.size_problem(fingerprint, data)
    if too_large:
        return Problem("DocumentTooLarge", too_large)
    body = materialise.build(client, fingerprint, data, cm_meta)
    if cm_meta is None:
        kube.create(CONFIGMAPS, body, namespace)
    else:
        kube.replace(CONFIGMAPS, body["metadata"]["name"], body, namespace)
    return fingerprint


# -- Application ----------------------------------------------------------------------

def reconcile_application(rt: Runtime, namespace: str, name: str, env: Mapping[str, Any] | None, clients: int, post: Poster = _no_events) -> dict[str, Any] | None:
    with _lock("Application", namespace, name):
        app = rt.kube.get_or_none(APPLICATIONS, name, namespace)
        if app is None or app["metadata"].get("deletionTimestamp"):
            return None
        return _reconcile_application(rt, app, env, clients, post)


def _reconcile_application(rt: Runtime, app: Mapping[str, Any], env: Mapping[str, Any] | None, clients: int, post: Poster) -> dict[str, Any]:
    kube = rt.kube
    meta = app["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    previous = app.get("status") or {}
    default = (app.get("spec") or {}).get("defaultFlow") or {}
    flow, selector_text = default.get("name"), str(default.get("version") or "HEAD")
    problem: Problem | None = None
    if not flow:
        message = "no default flow name: each client sets its own spec.defaultFlow.name"
    else:
        target = _target(Reads(kube), namespace, flow, selector_text, env)
        if isinstance(target, Problem):
            problem, message = target, target.message
        elif is_head_selector(selector_text):
            message = f"default flow {flow} at HEAD"
        else:
            message = f"default flow {flow} version {target.number} ({target.id})"
    status = bindingstatus.application_status(meta.get("generation"), clients, problem, message, previous, rfc3339(rt.clock()))
    if not bindingstatus.same_status(previous, status):
        kube.patch_status(APPLICATIONS, name, status, namespace)
    if problem is not None and _condition_changed(previous, status, "Ready"):
        post(app, "Warning", problem.reason, problem.message)
    return status
