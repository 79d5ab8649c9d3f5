"""Reconcile one Flow: commit its content as a version when due, then publish status.

Level-based and idempotent: it reads the versions that exist and decides from content
hashes, so a restart (or a crash between any two writes) converges without duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import metrics, names
from ..domain import changemessage, flowstatus, guardrails, history, policy, retention, storage
from ..domain import commit as commits
from ..domain.canonical import canonical_json, hash_of_canonical
from ..domain.commit import VersionRecord
from ..domain.versionid import next_version_id
from ..faults import crash_point, stall_point
from ..kube import FLOWS, FLOWVERSIONS, NAMESPACES, AlreadyExists, Kube, NamespaceTerminating, NotFound
from ..runtime import Runtime
from . import guardrailcache, pins, provenance, sync, tamper, verdicts, versions
from .common import Outcome, Poster, RetryLater, rfc3339
from .common import no_events as _no_events
from .history import follow_policy as follow_history_policy
from .reconciledviews import view_of
from .statuswrite import write_status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownContent:
    """A document with its canonical content hash and size, known to the caller (a
    promoted version's, from its record)."""

    document: Any
    digest: str
    size: int


def reconcile(rt: Runtime, flow: Mapping[str, Any], env: Mapping[str, Any] | None, post: Poster = _no_events) -> Outcome:
    """reconcile_locked() under the flow's lock. A Flow deleted meanwhile, or whose namespace
    is being deleted (every create there is refused), is let go: an Outcome marked gone,
    and a line at INFO, not a failure to retry."""
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    stall_point("flow-reconcile", f"{namespace}/{name}")
    with rt.flow_lock(namespace, name):
        try:
            return reconcile_locked(rt, flow, env, post)
        except NotFound:
            going = _going(rt, flow)
            if going is None:
                raise
            log.info(going)
        except NamespaceTerminating:
            log.info(_namespace_going(namespace, name))
    return Outcome(dict(flow.get("status") or {}), None, gone=True)


def _namespace_going(namespace: str, name: str) -> str:
    return f"namespace {namespace} is being deleted: flow {name} is not committed (it goes with the namespace)"


def _going(rt: Runtime, flow: Mapping[str, Any]) -> str | None:
    """Why something this Flow's reconcile read was not found, if it is on its way out: the
    Flow is gone (a namesake created since is another object), or its namespace is being
    deleted (its versions may go before it). None: it is not; the read failed for another reason."""
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    found = rt.kube.get_metadata(FLOWS, name, namespace)
    if found is None or found["metadata"].get("uid") != meta.get("uid"):
        return f"flow {namespace}/{name} was deleted while it was reconciled: nothing more to do"
    if (rt.kube.get_metadata(NAMESPACES, namespace) or {}).get("metadata", {}).get("deletionTimestamp"):
        return _namespace_going(namespace, name)
    return None


def reconcile_locked(
    rt: Runtime,
    flow: Mapping[str, Any],
    env: Mapping[str, Any] | None,
    post: Poster = _no_events,
    records: list[VersionRecord] | None = None,
    created_status: Callable[[VersionRecord], Mapping[str, Any]] | None = None,
    later: list[Callable[[], None]] | None = None,
    own_promotion: bool = False,
    known: KnownContent | None = None,
    sync_report: Callable[[list[VersionRecord]], Mapping[str, Any] | None] | None = None,
) -> Outcome:
    """reconcile() for a caller holding the flow's lock. `records` are its versions listed
    under that lock (no other thread here can have added one since; another process can,
    and then the API server refuses the number); `created_status` gives
    fields published in the same status write as a version this call creates; what nobody
    waits on (the new version's Event) goes to `later`, for the caller to run when it is done;
    `own_promotion`: the caller is the Promotion that wrote the flow's provenance annotation
    (no need to read it back to verify it); `known`: a document whose hash and size the
    caller has, used if it is the Flow's content; `sync_report`: status.sync for these
    versions if the caller can tell it (None: it cannot), published in the same write."""
    kube = rt.kube
    meta, spec = flow["metadata"], flow.get("spec") or {}
    namespace, name = meta["namespace"], meta["name"]
    view = view_of(flow, env)
    if records is None and rt.reconciled.seen(view):
        # This very object was reconciled here to the end (a Promotion's own write): its
        # event would only repeat that, against an older status.
        return Outcome(dict(flow.get("status") or {}), None, rt.reconciled.left(view))
    rt.reconciled.forget(namespace, name)
    env_spec = (env or {}).get("spec")
    if env is not None:  # the metrics' own view of Environments may lag the index this came from
        metrics.set_environment(namespace, env["metadata"]["name"])
    document = spec.get("content") or {}
    raw: bytes | None = None
    if known is not None and known.document == document:  # far cheaper than serialising a large one
        digest, size = known.digest, known.size
    else:
        raw = canonical_json(document)
        digest, size = hash_of_canonical(raw), len(raw)
    # Held from this process's last reconcile, else listed; dropped until this one finishes.
    cached = rt.records.get(flow) if records is None else None
    rt.records.forget(namespace, name)
    # Every version object of this name, when listed here: a new Flow's deletion policy is
    # then followed without listing them again.
    listed: list[dict[str, Any]] | None = None
    if records is None and cached is not None:
        records = cached
    elif records is None:
        listed = versions.list_items(kube, namespace, name)
        records = versions.history_of(listed, meta.get("uid"))[0]
    latest = commits.latest_of(records)
    promotion_annotation = (meta.get("annotations") or {}).get(names.ANN_PROMOTION)
    if promotion_annotation and not own_promotion and (latest is None or latest.content_hash != digest):
        promotion_annotation = provenance.verified(kube, flow, promotion_annotation, digest, post)
    rules = guardrailcache.compiled(policy.guardrails_of(env))
    problem: str | None = None
    problem_reason = "Stalled"
    created: VersionRecord | None = None
    deferred: list[Callable[[], None]] = [] if later is None else later
    decision = commits.CommitDecision(commit=False)
    next_free = 0  # numbers below are taken by objects outside `records`
    for _ in range(_COMMIT_ATTEMPTS):
        decision = _decide(flow, digest, records, policy.protected(env_spec), promotion_annotation)
        if decision.reason == "Stale":
            # Another writer has committed a newer view of this Flow: the event carrying it
            # reaches this process too; writing status from this view would only regress it.
            return Outcome(dict(flow.get("status") or {}), None)
        if decision.revert:
            return tamper.restore(rt, flow, env, records, document, digest, post)
        if not decision.commit:
            break
        number = max(next_free, max((r.number for r in records), default=0) + 1)
        try:
            created, created_body = _commit(
                rt, flow, document, (raw, size), digest, decision, records, number, rules, post, deferred
            )
            records.append(created)
            if listed is not None:
                listed.append(created_body)
            break
        except NumberTaken as taken:
            # Another writer took this number: decide again from what exists now.
            listed = versions.list_items(kube, namespace, name)
            records[:], highest = versions.history_of(listed, meta.get("uid"))
            next_free = highest + 1
            if highest < number and versions.is_foreign(kube, namespace, name, str(taken)):
                # An object that is no version of this flow holds the name: retrying it would never end.
                next_free = number + 1
                post(
                    flow,
                    "Warning",
                    "VersionNameTaken",
                    f"FlowVersion {taken} exists but is not a version of flow {name} (it lacks the label "
                    f"{names.LABEL_FLOW}={name} and a number): number {number} is skipped; delete that object if "
                    "nothing needs it",
                )
        except storage.DocumentTooLarge as exc:
            problem, problem_reason = str(exc), "DocumentTooLarge"
            post(flow, "Warning", "DocumentTooLarge", f"{exc}; the previous versions are intact")
            break
    else:
        raise RuntimeError(f"flow {namespace}/{name}: version numbers kept being taken by other writers; retrying")
    loop = commits.tamper_loop(records)
    if loop and problem is None:
        problem, problem_reason = loop, "TamperLoop"
    _evaluate_pending(kube, namespace, name, records, rules)
    if created is not None:
        # History is trimmed when it grows, not on every event: a Promotion that git prunes
        # and re-applies (a new object of the same name) still finds the version it landed.
        _apply_retention(rt, flow, env, records)

    newest = commits.latest_of(records)
    ok, message = (newest.ready, newest.guardrails) if newest is not None else (None, "")
    env_note = None if env else f"{flowstatus.NO_ENVIRONMENT_NOTE} {namespace}: no guardrails apply"
    last_commit = decision.commit_request if created and decision.commit_request else (flow.get("status") or {}).get("lastCommit")
    facts = flowstatus.FlowFacts(
        generation=meta.get("generation"),
        content_hash=digest,
        document_bytes=size,
        uncommitted=newest is not None and newest.content_hash != digest,
        guardrails_ok=ok,
        guardrails_message=message,
        last_commit=last_commit,
        problem=problem,
        problem_reason=problem_reason,
        environment_note=env_note,
    )
    status = flowstatus.compute(records, facts, flow.get("status"), rfc3339(rt.clock()))
    if created and created_status:
        status.update(created_status(created))
    if sync_report is not None and (report := sync_report(records)) is not None:
        shown = (flow.get("status") or {}).get("sync")
        if report != shown:
            status["sync"] = sync.status_patch(report, shown)
    if (flow.get("status") or {}).get("deletionPolicy") != history.policy_of(spec):
        status["deletionPolicy"] = follow_history_policy(kube, flow, _still_stored(listed, records, meta.get("uid")))
    current: Mapping[str, Any] | None = flow
    if not _same_status(flow.get("status"), status):
        # The caller's report describes the Flow as read: after another write, the event reports.
        try:
            current = write_status(kube, FLOWS, flow, status, guard=flowstatus.COMPUTED_FROM, put_only=("sync",))
        except RetryLater:
            # Another writer published a newer view: the retry decides from it. A version
            # made here is made all the same, and its Event says so.
            for write in deferred if later is None else ():
                write()
            raise
    if later is None:
        for write in deferred:
            write()
        rt.records.put(flow, records)
    rt.reconciled.record(view, current)
    return Outcome(status, created, current)


def _still_stored(
    listed: list[dict[str, Any]] | None, records: list[VersionRecord], owner_uid: str | None
) -> list[dict[str, Any]] | None:
    """The listed version objects minus those retention has just deleted: retention prunes
    only this Flow's own numbered versions, which are all in `records` until pruned."""
    if listed is None:
        return None
    kept = {r.name for r in records}
    return [
        i
        for i in listed
        if i["metadata"]["name"] in kept
        or not versions.owned_by(i, owner_uid)
        or names.LABEL_NUMBER not in (i["metadata"].get("labels") or {})
    ]


# A number is taken only when another writer committed meanwhile; a few rounds settle it.
_COMMIT_ATTEMPTS = 8


class NumberTaken(Exception):
    """The FlowVersion for this number exists already (another writer made it)."""


def _decide(
    flow: Mapping[str, Any], digest: str, records: list[VersionRecord], protected: bool, promotion_annotation: str | None
) -> commits.CommitDecision:
    """`promotion_annotation`: the landing Promotion's record, once verified (None if forged)."""
    meta, spec = flow["metadata"], flow.get("spec") or {}
    annotations = meta.get("annotations") or {}
    return commits.decide(
        content_hash=digest,
        mode=(spec.get("versioning") or {}).get("mode", "Auto"),
        latest=commits.latest_of(records),
        change_cause=annotations.get(names.ANN_CHANGE_CAUSE),
        commit_annotation=annotations.get(names.ANN_COMMIT),
        promotion_annotation=promotion_annotation,
        generation=meta.get("generation"),
        # Generations count per Flow object: retained versions of a deleted namesake do not make this one stale.
        newest_generation=max(
            (r.generation for r in records if r.generation is not None and r.flow_uid in (None, meta.get("uid"))), default=None
        ),
        landed_promotions=frozenset(r.promotion_uid for r in records if r.promotion_uid),
        protected=protected,
    )


def _same_status(previous: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """No write when nothing changed: a restart with thousands of flows issues no writes."""
    previous = previous or {}
    return all(previous.get(key) == value for key, value in desired.items())


def _commit(
    rt: Runtime,
    flow: Mapping[str, Any],
    document: Any,
    serialised: tuple[bytes | None, int],
    digest: str,
    decision: commits.CommitDecision,
    records: list[VersionRecord],
    number: int,
    rules: guardrails.CompiledRules,
    post: Poster,
    deferred: list[Callable[[], None]],
) -> tuple[VersionRecord, dict[str, Any]]:
    """Create version `number` (its record and object); NumberTaken if its object exists
    (the API server decides). `serialised`: the document's canonical JSON if made, and its size."""
    kube = rt.kube
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    latest = commits.latest_of(records)
    raw, size = serialised
    keyframe = versions.keyframe_for(kube, namespace, name, latest, records)
    stored, base_number = versions.encode(document, keyframe, raw=raw, size=size)
    results = guardrailcache.evaluate(rules, document, digest)
    ready, summary = guardrails.summarize(results)
    # Ids keep increasing per flow: the previous number's id is in `records` (listed after it was made).
    version_id = next_version_id(rt.clock(), max((r.id for r in records), default=None))
    cause = (meta.get("annotations") or {}).get(names.ANN_CHANGE_CAUSE, "").strip() or None
    message = changemessage.message(cause, records) if decision.reason == "ContentChanged" else decision.message
    applier = changemessage.applied_by(meta) if decision.origin == "Commit" else None
    writer = changemessage.changed_by(meta) if decision.origin == "Commit" else None
    body = versions.build(
        flow=flow,
        version_id=version_id,
        number=number,
        content_hash=digest,
        stored=stored,
        message=message,
        origin=decision.origin,
        parent=latest.id if latest else None,
        commit_request=decision.commit_request,
        promotion=decision.promotion,
        base_number=base_number,
        change_cause=cause if decision.origin == "Commit" else None,
        applied_by=applier,
        changed_by=writer,
    )
    verdict = versions.verdict_metadata(ready, summary, rules.digest)
    body["metadata"]["labels"].update(verdict["labels"])
    body["metadata"]["annotations"].update(verdict["annotations"])
    body["status"] = versions.verdict_status(ready, [r.to_status() for r in results], rules.digest)  # one request
    try:
        kube.create(FLOWVERSIONS, body, namespace, metadata_only=True)  # a keyframe's document need not come back
    except AlreadyExists:
        raise NumberTaken(body["metadata"]["name"]) from None
    crash_point("after-version-created")
    if stored.encoding == "Full":
        # The next commit deltas against this one: keep it decoded instead of reading it back.
        versions.keyframes().put((namespace, name, version_id), document, stored)
    record = versions.record_of(body)
    metrics.version_created(namespace, decision.origin, ready, results)
    what = f"version {number} ({version_id})"
    if decision.origin == "Promotion" and decision.promotion:
        what += f" promoted from {decision.promotion.get('sourceEnvironment')}/{decision.promotion.get('sourceFlow')}"
    if applier:
        what += f", {changemessage.describe(applier)}"
    if writer:
        what += f", Flow last changed by {writer}"
    # The Event goes out after the status write: the two would compete for the API server.
    if ready:
        deferred.append(
            lambda: post(flow, "Normal", "VersionCreated", f"{what} created and is HEAD" + (f": {message}" if message else ""))
        )
    else:
        deferred.append(
            lambda: post(flow, "Warning", "GuardrailsFailed", f"{what} created but not ready, HEAD unchanged: {summary}")
        )
    return record, body


def _evaluate_pending(
    kube: Kube, namespace: str, flow: str, records: list[VersionRecord], rules: guardrails.CompiledRules
) -> None:
    """Versions whose verdict is unknown or was made under other rules: judge them, newest
    first, until one passes (HEAD, the newest version passing the rules in force). Every
    version may be judged: stopping short would leave an older verdict standing as HEAD.
    Rules that cannot be compiled judge nothing again: they would fail every version, and
    an Environment's typo would take HEAD from every flow; new commits fail until it is fixed."""
    if not rules.valid:
        return
    for index in range(len(records) - 1, -1, -1):
        record = records[index]
        if record.origin == "Quarantine":
            continue
        if not record.judged_under(rules.digest):
            document = versions.read_version(kube, namespace, flow, record)
            record = records[index] = verdicts.judge(kube, namespace, record, document, rules)
        if record.ready:
            break


def _apply_retention(rt: Runtime, flow: Mapping[str, Any], env: Mapping[str, Any] | None, records: list[VersionRecord]) -> None:
    limit = policy.history_limit((env or {}).get("spec"), flow.get("spec"))
    if len(records) <= limit:
        return
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    head = flowstatus.head_of(records)
    keep = set(pins.pinned_versions(rt, namespace, name, records))
    keep.update(pins.versions_in_use_by_promotions(rt, (env or {}).get("metadata", {}).get("name"), namespace, name, records))
    if head:
        keep.add(head.id)
    metas = [retention.VersionMeta(r.id, r.number, r.base) for r in records]
    doomed = set(retention.versions_to_delete(metas, limit, keep))
    for record in [r for r in records if r.id in doomed]:
        rt.kube.delete(FLOWVERSIONS, record.name, namespace)
    records[:] = [r for r in records if r.id not in doomed]
