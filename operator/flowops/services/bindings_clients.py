"""Reconcile one ApiClient: resolve its binding and materialise the resolved flow in its
ConfigMap `<client>-flow`.

Level-based: every call reads the client, its Application, the Flow, the version list
(metadata only) and the ConfigMap's metadata, then writes only what differs. The
document is read only when the ConfigMap must be rewritten.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import names
from ..domain import bindingstatus, bindingtarget, materialise, pinreview, policy, values
from ..domain.binding import Resolution, resolve_request
from ..domain.bindingtarget import Problem, is_head_selector
from ..domain.commit import VersionRecord
from ..domain.conditions import find
from ..domain.materialise import Fingerprint
from ..faults import stall_point
from ..kube import APICLIENTS, CONFIGMAPS, Conflict, Forbidden, Kube, NotFound
from ..runtime import Runtime
from . import bindings_resume, environmentlookup, unfinishedpromotions
from .bindings_concurrency import with_retries
from .bindings_reads import Reads, Snapshot
from .bindings_resolve import Poster, condition_changed, no_events, target
from .common import RetryLater, rfc3339
from .flowreaders import UNSEEN


@dataclass(frozen=True)
class ClientOutcome:
    status: dict[str, Any]
    rewritten: bool
    status_changed: bool = False  # `status` differs from the client's: reconcile_client writes it


StatusWrites = list[Callable[[], None]]


# How a ValidatingAdmissionPolicy refuses while its paramKind is not yet resolved (kubernetes#124237).
ADMISSION_NOT_READY = "failed to configure policy"


def reconcile_client(
    rt: Runtime,
    namespace: str,
    name: str,
    env: Mapping[str, Any] | None,
    post: Poster = no_events,
    reads: Reads | None = None,
    resumed: Mapping[str, Any] | None = None,
    status_writes: StatusWrites | None = None,
    attempts_left: int = 3,
) -> ClientOutcome | None:
    """Read inside the lock, fresh or from a fan-out's snapshot if still valid: an event's
    body may predate a fan-out's status write. `resumed`: the body a restart resumes,
    as fresh as a read while this process has not reconciled the client yet.
    `status_writes`: the status write is appended there instead of made now.
    `attempts_left`: how often a client written meanwhile is read and decided again.
    `env`: the namespace's Environment as looked up before the lock; the client is decided
    under the one the live index shows once the lock is held."""
    if reads is None:
        reads = Reads(rt.kube, rt.bindings)
        if resumed is not None:
            reads.take_resume_snapshot(namespace)
    written_since = False
    with rt.bindings.lock("ApiClient", namespace, name):
        snapshot = reads.snapshot_for(namespace, name)
        try:
            if resumed is not None and rt.bindings.last_reconciled(namespace, name) is None:
                client: Mapping[str, Any] | None = resumed
            elif snapshot is not None and name in snapshot.clients:
                client = snapshot.clients[name]
            else:
                client = rt.kube.get_or_none(APICLIENTS, name, namespace)
            if client is None or client["metadata"].get("deletionTimestamp"):
                return None
            governing = environmentlookup.governing_now(rt, namespace, env)
            outcome = _reconcile_client(rt, client, governing, post, reads, snapshot, resuming=resumed is not None)
            if outcome.status_changed and status_writes is None:
                # Only over the status it was computed from: another writer's newer one
                # (another operator process) is never overwritten; decided again instead.
                rt.kube.patch_status(
                    APICLIENTS, name, outcome.status, namespace, resource_version=client["metadata"].get("resourceVersion")
                )
        except Conflict:
            if not attempts_left:
                raise
            written_since = True
        finally:
            rt.bindings.mark_reconciled(namespace, name)
        if not written_since:
            assert client is not None  # None returned above
            if outcome.status_changed and status_writes is not None:
                status_writes.append(
                    functools.partial(
                        _write_status,
                        rt,
                        namespace,
                        name,
                        outcome.status,
                        rt.bindings.last_reconciled(namespace, name),  # this reconcile's mark
                        client["metadata"].get("resourceVersion"),
                        functools.partial(reconcile_client, rt, namespace, name, env, post),
                    )
                )
            return outcome
    # Outside the client's lock, which the next attempt takes again.
    return reconcile_client(rt, namespace, name, env, post, status_writes=status_writes, attempts_left=attempts_left - 1)


def _write_status(
    rt: Runtime,
    namespace: str,
    name: str,
    status: Mapping[str, Any],
    sequence: int | None,
    resource_version: str | None,
    again: Callable[[], object],
) -> None:
    """A fan-out's deferred status write. Skipped if this process reconciled the client
    again since (that reconcile read it without this status and writes its own); made only
    if the client is still as it was read, so another writer's newer status (another
    operator process) is never overwritten: then the client is reconciled afresh."""
    with rt.bindings.lock("ApiClient", namespace, name):
        if rt.bindings.last_reconciled(namespace, name) != sequence:
            return
        try:
            rt.kube.patch_status(APICLIENTS, name, dict(status), namespace, resource_version=resource_version)
            return
        except NotFound:
            return  # deleted meanwhile
        except Conflict:
            pass  # written since it was read
    again()  # its ConfigMap is current now: at most the status is written


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


def _reconcile_client(
    rt: Runtime,
    client: Mapping[str, Any],
    env: Mapping[str, Any] | None,
    post: Poster,
    reads: Reads,
    snapshot: Snapshot | None,
    resuming: bool = False,
) -> ClientOutcome:
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

    resolved: VersionRecord | Problem | None = None  # None: it keeps what it holds
    if not request.resolved:
        resolved = Problem("FlowNotSet", request.missing_message or "no flow name set")
    elif owner == "foreign":
        resolved = Problem(
            "ConfigMapConflict",
            f"ConfigMap {cm_name} exists and is not managed by flowops for this ApiClient: rename or delete it",
        )
    elif env is None:
        # No Environment claims the namespace (deleted, or never made): nothing governs what
        # would be served, so nothing is written, whatever labels the namespace carries.
        resolved = Problem(
            "NoEnvironment",
            f"no Environment manages namespace {namespace}: ApiClients are materialised only in an Environment's "
            f"namespace; create an Environment with spec.namespace: {namespace}",
        )
    elif not (resuming and bindings_resume.holds_head(rt, client, request, held, env)):
        assert request.name is not None and request.version is not None
        resolved = _resolve(rt, reads, namespace, name, request.name, request.version, env)
        stall_point("client-resolved", f"{namespace}/{name}")

    if isinstance(resolved, VersionRecord):
        assert request.name is not None
        resolved = _approval_problem(reads, client, request, resolved, held, env) or resolved

    rewritten = False
    problem: Problem | None = resolved if isinstance(resolved, Problem) else None
    if isinstance(resolved, VersionRecord):
        assert request.name is not None
        written = _values_frozen(request.name, resolved, held, env) or _materialise(
            kube, reads, client, request.name, resolved, held, cm_meta, env
        )
        if isinstance(written, Problem):
            problem = written
        else:
            rewritten = written != held
            if rewritten:
                _tell_rewritten(client, held, written, env, post)
            held = written

    facts = bindingstatus.client_facts(meta.get("generation"), previous, request, held, cm_name, problem)
    status = bindingstatus.client_status(facts, previous, rfc3339(rt.clock()))
    if problem is not None and condition_changed(previous, status, "Resolved"):
        post(client, "Warning", problem.reason, find(status["conditions"], "Resolved")["message"])  # type: ignore[index]
    return ClientOutcome(status, rewritten, not bindingstatus.same_status(previous, status))


def _values_frozen(flow: str, record: VersionRecord, held: Fingerprint | None, env: Mapping[str, Any] | None) -> Problem | None:
    """While the Environment is frozen, a ConfigMap that holds this version is not rendered
    again for a change of values: it waits for the freeze to be lifted (the Environment's
    update then re-renders it, and so does a restart's resume)."""
    env_spec = (env or {}).get("spec")
    freeze = policy.freeze(env_spec)
    if freeze is None or held is None or not materialise.up_to_date(held, flow, record.id, record.content_hash):
        return None
    changed = values.changed_names(held.rendered_with, (env_spec or {}).get("values") or {})
    if not changed:
        return None
    environment = ((env or {}).get("metadata") or {}).get("name") or "?"
    return bindingtarget.values_frozen(environment, freeze.get("reason"), changed)


def _tell_rewritten(
    client: Mapping[str, Any], held: Fingerprint | None, written: Fingerprint, env: Mapping[str, Any] | None, post: Poster
) -> None:
    """A change of values alone names the values and the Environment's writer; any other
    change names the versions and who last changed the client."""
    env_meta = (env or {}).get("metadata") or {}
    env_writer = (env_meta.get("annotations") or {}).get(names.ANN_CHANGED_BY)
    rerendered = materialise.values_rerendered(held, written, env_meta.get("name") or "?", env_writer)
    if rerendered:
        post(client, "Normal", "ValuesRendered", rerendered)
        return
    # Who last changed the client: recorded by the API server (admission policy), not typed.
    who = (client["metadata"].get("annotations") or {}).get(names.ANN_CHANGED_BY)
    post(
        client,
        "Normal",
        "BindingChanged",
        f"{held.describe() if held else 'nothing'} → {written.describe()}"
        + (f" (ApiClient last changed by {who})" if who else ""),
    )


def _resolve(
    rt: Runtime, reads: Reads, namespace: str, client: str, flow: str, selector: str, env: Mapping[str, Any] | None
) -> VersionRecord | Problem:
    """The version `selector` names now. Noted before the flow is read: a Flow event showing
    another HEAD from then on reaches this client, even before its status (and so the
    ApiClient index) names the flow. A fan-out shares one read of the flow among its
    clients: one older than a HEAD the Flow events have shown since is read again."""
    known, head = rt.flows.head_of(namespace, flow)
    rt.bindings.flow_readers.begin(namespace, flow, client, head if known else UNSEEN)
    unfinished = functools.partial(unfinishedpromotions.asked_by, rt, "ApiClient", client)
    resolved = target(reads, namespace, flow, selector, env, unfinished)
    if isinstance(resolved, VersionRecord) and is_head_selector(selector):
        known, head = rt.flows.head_of(namespace, flow)
        if known and head is not None and head > resolved.id:  # ids increase per flow
            resolved = target(Reads(rt.kube, rt.bindings), namespace, flow, selector, env, unfinished)
    return resolved


def _approval_problem(
    reads: Reads,
    client: Mapping[str, Any],
    request: Resolution,
    chosen: VersionRecord,
    held: Fingerprint | None,
    env: Mapping[str, Any] | None,
) -> Problem | None:
    """Where review is required, a version other than HEAD or the one served, or another
    flow than the one served, needs an approver's hand on every spec it comes through
    (domain.pinreview)."""
    env_spec = (env or {}).get("spec")
    if not policy.require_review(env_spec) or request.name is None:
        return None
    namespace = client["metadata"]["namespace"]
    flow = reads.flow(namespace, request.name) or {}
    sources = {request.name_source, request.version_source}
    # The client's writer counts when the client names the flow or version itself, or when
    # its spec changed since a resolution of it was last served (switching Applications is a
    # change too). Not since it was last resolved: a refusal resolves it too, and a later
    # metadata write or a restart would then serve what was refused.
    changed = client["metadata"].get("generation") != (client.get("status") or {}).get("reviewedGeneration")
    specs = [("ApiClient", client)] if "ApiClient" in sources or changed else []
    application = reads.application(namespace, request.application) if request.application else None
    if "Application" in sources and application is not None:
        specs.append(("Application", application))
    writers = [_pin_writer(kind, body) for kind, body in specs]
    return pinreview.approval_problem(
        review=True,
        environment=((env or {}).get("metadata") or {}).get("name") or "?",
        flow=request.name,
        chosen=chosen,
        holds=held.version if held is not None and held.flow == request.name else None,
        head=(flow.get("status") or {}).get("latestReadyVersion"),
        writers=writers,
        gitops_approvers=policy.gitops_approvers(env_spec),
        approver_groups=policy.approver_groups(env_spec),
        serves_other_flow=held.flow if held is not None and held.flow != request.name else None,
    )


def _pin_writer(kind: str, body: Mapping[str, Any]) -> pinreview.PinWriter:
    """Who last wrote this spec and whether they could approve, as the API server recorded."""
    meta = body["metadata"]
    annotations = meta.get("annotations") or {}
    return pinreview.PinWriter(
        kind,
        meta["name"],
        annotations.get(names.ANN_CHANGED_BY) or None,
        annotations.get(names.ANN_CHANGED_BY_APPROVER) == "true",
        _groups(annotations.get(names.ANN_CHANGED_BY_GROUPS)),
    )


def _groups(recorded: str | None) -> tuple[str, ...] | None:
    """The writer's groups as the API server recorded them. None, so in no reserved group:
    stamped before groups were, or not a list of names (a name CEL quoted beyond JSON)."""
    try:
        groups = json.loads(recorded) if recorded else None
    except ValueError:
        return None
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        return None
    return tuple(groups)


def reresolve_moved(
    rt: Runtime,
    namespace: str,
    clients: list[str],
    env: Mapping[str, Any] | None,
    post: Poster | None = None,
) -> None:
    """Clients that resumed before their flow's first event and hold another version than
    the HEAD it brought: resolved again."""
    for name in clients:
        # From an event handler, which Kopf does not retry: retry here, then log.
        with_retries(
            functools.partial(reconcile_client, rt, namespace, name, env, post=post or no_events),
            f"re-resolving ApiClient {namespace}/{name}",
        )


def _delete_stale(kube: Kube, namespace: str, name: str, cm_meta: Mapping[str, Any] | None) -> None:
    """The ConfigMap of a deleted namesake client: garbage collection would remove it, but
    only after a while; remove it now (that very object, by uid) so the new client gets its own."""
    body = {"propagationPolicy": "Background", "preconditions": {"uid": (cm_meta or {}).get("uid")}}
    try:
        kube.request("DELETE", CONFIGMAPS.path(namespace, name), body=body)
    except NotFound:
        pass


def _materialise(
    kube: Kube,
    reads: Reads,
    client: Mapping[str, Any],
    flow: str,
    record: VersionRecord,
    held: Fingerprint | None,
    cm_meta: Mapping[str, Any] | None,
    env: Mapping[str, Any] | None,
) -> Fingerprint | Problem:
    """Write the ConfigMap when it does not hold this version rendered with the
    environment's current values yet; returns what it holds."""
    env_values = ((env or {}).get("spec") or {}).get("values") or {}
    if (
        held is not None
        and materialise.up_to_date(held, flow, record.id, record.content_hash)
        and not values.touched(held.rendered_with, env_values)
    ):
        return held
    namespace = client["metadata"]["namespace"]
    _, transition = reads.document(namespace, flow, record)
    env_name = ((env or {}).get("metadata") or {}).get("name") or "(none: no Environment manages this namespace)"
    rendering = reads.rendering(namespace, flow, record, env_values, env_name)
    if isinstance(rendering, values.Unrenderable):
        return Problem("ValueNotDefined", f"flow {flow} version {record.number} ({record.id}) cannot be rendered: {rendering}")
    fingerprint = Fingerprint(
        flow=flow,
        version=record.id,
        number=record.number,
        contentHash=rendering.content_hash,
        transition=transition,
        values=tuple(values.digests(rendering.used).items()),
    )
    if fingerprint == held:
        return held
    data = materialise.data_for(fingerprint, rendering.text, rendering.used)
    too_large = materialise.size_problem(fingerprint, data, rendering.text_bytes, rendering)
    if too_large:
        return Problem("DocumentTooLarge", too_large)
    body = materialise.build(client, fingerprint, data, cm_meta)
    payload = materialise.encode(body, rendering)
    try:
        # The response's metadata only: nobody reads the document back.
        if cm_meta is None:
            kube.create(CONFIGMAPS, payload, namespace, metadata_only=True)
        else:
            kube.replace(CONFIGMAPS, body["metadata"]["name"], payload, namespace, metadata_only=True)
    except Forbidden as refused:  # e.g. the namespace is not labelled for its Environment (docs/operations.md)
        if ADMISSION_NOT_READY in refused.message:
            # A restarted API server refuses for a moment while it resolves the policies'
            # parameters (docs/operations.md): retried, not reported as the client's fault.
            raise RetryLater(f"ConfigMap {body['metadata']['name']} refused while admission starts: {refused.message}") from None
        return Problem(
            "ConfigMapRefused", f"the API server refused writing ConfigMap {body['metadata']['name']}: {refused.message}"
        )
    return fingerprint
