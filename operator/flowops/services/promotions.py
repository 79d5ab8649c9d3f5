"""Execute one Promotion: read what it needs, decide once (domain.promotion.decide), write.

Exactly once: the target's new version carries the Promotion's uid, and every attempt
first looks for it. A crash at any point resumes into the same single version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from .. import metrics
from ..domain import flowstatus, guardrails, policy, promotionstatus, separation
from ..domain import promotion as promotions
from ..domain.canonical import content_hash
from ..domain.commit import VersionRecord
from ..domain.promotion import Decision, PromotionState, SourceSide, TargetSide, TargetWrite
from ..faults import crash_point, stall_point
from ..kube import APICLIENTS, APPLICATIONS, FLOWS, FLOWVERSIONS, PROMOTIONS, Conflict
from ..kube.resources import SUBJECTACCESSREVIEWS
from ..runtime import Runtime
from . import flows, guardrailcache, promotiontarget, promotionwrites, sync, verdicts, versions
from .common import Poster, RetryLater, rfc3339
from .threads import READ_THREADS

EnvLookup = Callable[[str], Mapping[str, Any] | None]


def reconcile(
    rt: Runtime,
    promotion: Mapping[str, Any],
    env_by_name: EnvLookup,
    env_by_namespace: EnvLookup,
    known_environments: Callable[[], list[str]],
    post: Poster,
) -> None:
    if (promotion.get("status") or {}).get("phase") in promotions.TERMINAL:
        _acknowledge_finished(rt, promotion, post)
        return
    target_name = promotions.target_flow_name(promotion.get("spec") or {})
    # The target's lock from its version list to its commit: that list stays current,
    # so the commit reuses it, and the Flow handler cannot commit this content meanwhile.
    with rt.flow_lock(promotion["metadata"]["namespace"], target_name):
        state = read(rt, promotion, env_by_name, env_by_namespace, known_environments)
        decision = promotions.decide(state)
        stall_point("promotion-decided", f"{promotion['metadata']['namespace']}/{promotion['metadata']['name']}")
        perform(rt, state, decision, post)


def _acknowledge_finished(rt: Runtime, promotion: Mapping[str, Any], post: Poster) -> None:
    """A finished Promotion changed (approved after it failed, say): its new generation is
    marked observed, its outcome kept, and the Event says why nothing runs."""
    acknowledged = promotionstatus.acknowledged_after_finish(promotion)
    if acknowledged is None:
        return
    fields, event_type, message = acknowledged
    if promotionwrites.write_status(rt.kube, promotion, fields) is not None:
        post(promotion, event_type, "AlreadyFinished", message)


# ---- read ------------------------------------------------------------------------------


def read(
    rt: Runtime,
    promotion: Mapping[str, Any],
    env_by_name: EnvLookup,
    env_by_namespace: EnvLookup,
    known_environments: Callable[[], list[str]],
) -> PromotionState:
    """Everything decide() looks at. Reads stop where a missing piece makes the rest moot."""
    meta, spec = promotion["metadata"], promotion.get("spec") or {}
    source = spec.get("source") or {}
    target_env = env_by_namespace(meta["namespace"])
    source_env = env_by_name(source.get("environment", ""))
    state = PromotionState(promotion, target_env, source_env, tuple(known_environments()))
    if target_env is None or source_env is None:
        return state
    rules = guardrailcache.compiled(policy.guardrails_of(target_env))
    source_ns = source_env["spec"]["namespace"]
    selector = promotions.source_selector(spec, promotion.get("status") or {})
    source_flow, target_ns, target_flow = source.get("flow", ""), meta["namespace"], promotions.target_flow_name(spec)
    # The target's reads depend on nothing else: they start first, while the requester's
    # access to the source is checked, and the source's own reads follow that check. Each
    # side's Flow and version list at once (the uid that tells which versions are the
    # Flow's is applied once both are in). One pool: four reads in it, the fifth in this thread.
    with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="promotion-read") as pool:
        # Whole, not its metadata: the write replaces it (a PUT) if it is still as read. Both
        # Flows from the watch cache: the PUT names the resourceVersion read, and `_trusted`
        # reads again from storage what a lagging cache could get wrong.
        target_read = pool.submit(rt.kube.get_or_none, FLOWS, target_flow, target_ns, cached=True)
        target_items = pool.submit(versions.list_items, rt.kube, target_ns, target_flow)
        target = pool.submit(lambda: _target_side(rt, target_ns, target_flow, target_read, target_items.result()))
        may_read = _may_read(rt, spec.get("requestedBy"), source_ns, source.get("flow", ""))
        if may_read is False:  # nothing of the source is read for someone who may not read it
            return replace(state, requester_may_read=False)
        source_meta = pool.submit(rt.kube.get_metadata, FLOWS, source_flow, source_ns, cached=True)
        source_items = versions.list_items(rt.kube, source_ns, source_flow)
        source_rules = guardrailcache.compiled(policy.guardrails_of(source_env))
        source_found = source_meta.result()
        if not _trusted(source_found, source_items):
            source_found = rt.kube.get_metadata(FLOWS, source_flow, source_ns)
        source_side = _source_side(rt, source_ns, source_flow, selector, source_found, source_items, source_rules)
        target_side = target.result()
    clients: tuple[Mapping[str, Any], ...] = ()
    applications: tuple[Mapping[str, Any], ...] = ()
    if spec.get("review") and not spec.get("approved"):  # the reviewer sees who the change reaches
        clients = tuple(rt.kube.list(APICLIENTS, meta["namespace"]))
        applications = tuple(rt.kube.list(APPLICATIONS, meta["namespace"]))
    return PromotionState(
        promotion,
        target_env,
        source_env,
        state.known_environments,
        source_side,
        target_side,
        check=lambda document, digest: metrics.promotion_checked(
            meta["namespace"], guardrailcache.evaluate(rules, document, digest)
        ),
        requester_may_read=may_read,
        clients=clients,
        applications=applications,
        approver_may_approve=_may_approve(rt, spec, meta),
        same_person=_same_person(rt, spec),
    )


def _may_approve(rt: Runtime, spec: Mapping[str, Any], meta: Mapping[str, Any]) -> bool | None:
    """Whether the approver (as the API server stamped it) holds the approve permission on
    this Promotion, asked again before writing. None: not approved in the cluster."""
    approver = spec.get("approvedBy") or {}
    if not spec.get("approved") or not approver.get("username") or approver.get("via") == "GitOps":
        return None
    return _allowed(
        rt,
        approver,
        {
            "namespace": meta["namespace"],
            "verb": "approve",
            "group": PROMOTIONS.group,
            "resource": PROMOTIONS.plural,
            "name": meta["name"],
        },
    )


def _same_person(rt: Runtime, spec: Mapping[str, Any]) -> separation.Question | None:
    """The first right by which a cluster approver and the requester could be one person
    (separation.questions), asked of the API server as each of them; None: none, or no
    cluster approval. One SubjectAccessReview per right, only for approved Promotions."""
    approver, requester = spec.get("approvedBy") or {}, spec.get("requestedBy") or {}
    if not spec.get("approved") or not approver.get("username") or approver.get("via") == "GitOps":
        return None
    for question in separation.questions(requester.get("username") or "", approver["username"]):
        if _allowed(rt, approver if question.asker == "approver" else requester, question.attributes()):
            return question
    return None


def _allowed(rt: Runtime, who: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    review = {
        "apiVersion": SUBJECTACCESSREVIEWS.api_version,
        "kind": SUBJECTACCESSREVIEWS.kind,
        "spec": {
            "user": who["username"],
            "groups": list(who.get("groups") or []),
            **({"uid": who["uid"]} if who.get("uid") else {}),
            "resourceAttributes": dict(attributes),
        },
    }
    return bool((rt.kube.create(SUBJECTACCESSREVIEWS, review).get("status") or {}).get("allowed"))


def _may_read(rt: Runtime, requester: Mapping[str, Any] | None, namespace: str, flow: str) -> bool | None:
    """Whether the requester (as the API server stamped it) may read the source flow: the
    operator reads with its own rights, so it asks on the requester's behalf. None: no
    requester recorded (created before the admission policy stamped one)."""
    if not requester or not requester.get("username"):
        return None
    return _allowed(
        rt, requester, {"namespace": namespace, "verb": "get", "group": FLOWS.group, "resource": FLOWS.plural, "name": flow}
    )


def _source_side(
    rt: Runtime,
    namespace: str,
    name: str,
    selector: Any,
    flow: Mapping[str, Any] | None,
    items: list[dict[str, Any]],
    rules: guardrails.CompiledRules,
) -> SourceSide:
    """The source flow's versions and the document the selector names (quarantined copies
    of reverted edits are no source). `flow`: its metadata; `items`: its name's versions;
    `rules`: the source environment's guardrails, under which the chosen version's verdict
    must have been made (else it is judged here, in memory: this only reads). Rules that
    cannot be used fail every document, so nothing is promoted from there until fixed."""
    if flow is None:
        return SourceSide()
    records = tuple(r for r in versions.history_of(items, flow["metadata"]["uid"])[0] if r.origin != "Quarantine")
    head = flowstatus.head_of(records)
    documents: dict[str, tuple[Any, str, int | None]] = {}

    def read(record: VersionRecord) -> tuple[Any, str, int | None]:
        if record.id not in documents:
            version = rt.kube.get(FLOWVERSIONS, record.name, namespace)
            transition = (version.get("spec") or {}).get("transition") or "RestartInProgress"
            size = ((version.get("spec") or {}).get("storage") or {}).get("bytes")
            documents[record.id] = (versions.decode(rt.kube, namespace, name, version), transition, size)
        return documents[record.id]

    while True:
        choice = promotions.choose_source(selector, records, flowstatus.head_of(records))
        if choice.uncommitted:
            spec = rt.kube.get(FLOWS, name, namespace).get("spec") or {}
            return SourceSide(True, records, spec.get("content") or {}, spec.get("transition", "RestartInProgress"), head=head)
        if choice.record is None:
            return SourceSide(True, records, head=head)
        record = choice.record
        document, transition, size = read(record)
        if record.judged_under(rules.digest):
            return SourceSide(True, records, document, transition, size, head=head)
        judged, _ = verdicts.reckon(record, document, rules)
        records = tuple(judged if r.id == record.id else r for r in records)
        # A pin is decided on its own verdict; HEAD, failing, is looked for further back.


def _target_side(
    rt: Runtime, namespace: str, name: str, flow_read: Future[dict[str, Any] | None], items: list[dict[str, Any]]
) -> TargetSide:
    """The target flow's versions, HEAD and HEAD's document: what it serves now. Not its
    spec, which may hold content written by an interrupted attempt of this very Promotion
    and not yet committed. `flow_read`: the Flow's read; `items`: its name's versions.

    A large Flow takes longest to read: HEAD's document is read meanwhile, its versions
    told apart by the owner of the newest one, and kept only if the Flow's own uid then
    names the same HEAD (a version never changes, so a wrong guess only costs a read)."""

    def document_of(record: VersionRecord) -> Any:
        return versions.decode(rt.kube, namespace, name, rt.kube.get(FLOWVERSIONS, record.name, namespace))

    guessed = flowstatus.head_of(versions.history_of(items, versions.newest_owner(items))[0])
    early = document_of(guessed) if guessed is not None else None
    flow = flow_read.result()
    if not _trusted(flow, items):
        flow = rt.kube.get_or_none(FLOWS, name, namespace)
    if flow is None:
        return TargetSide()
    records = tuple(versions.history_of(items, flow["metadata"]["uid"])[0])
    head = flowstatus.head_of(records)
    if head is None:
        return TargetSide(True, records, metadata=flow["metadata"], flow=flow)
    document = early if guessed is not None and guessed.name == head.name and guessed.id == head.id else document_of(head)
    return TargetSide(True, records, head, document, flow["metadata"], flow)


def _trusted(cached: Mapping[str, Any] | None, items: list[dict[str, Any]]) -> bool:
    """Whether a Flow as the watch cache held it can stand for the stored one. Not when
    absent, nor when the newest of its name's versions (listed from storage) has another
    owner: the cache may lag the Flow's creation, or its re-creation under the same name, by
    a moment, and a promotion must neither fail for that nor choose among a deleted Flow's
    versions."""
    if cached is None:
        return False
    owner = versions.newest_owner(items)
    return owner is None or owner == cached["metadata"]["uid"]


# ---- write -----------------------------------------------------------------------------


def perform(rt: Runtime, state: PromotionState, decision: Decision, post: Poster) -> None:
    promotion = state.promotion
    if decision.landed is not None and decision.reason == "AlreadyPromoted":
        landed = decision.landed
        _finish(
            rt,
            promotion,
            "Succeeded",
            decision.reason,
            decision.message,
            post,
            {
                "targetFlow": promotions.target_flow_name(promotion.get("spec") or {}),
                "targetVersion": landed.id,
                "targetNumber": landed.number,
            },
        )
    elif decision.landed is not None:
        status = dict(decision.status)
        if not status.get("sourceVersion"):
            # A view of the Promotion from before its claim (another process's, or a late
            # event): the version it landed records the source.
            status["sourceVersion"] = _landed_source(rt, promotion["metadata"]["namespace"], decision.landed)
        _succeed(rt, state, decision.landed, post, status)
    elif decision.write is not None:
        _execute(rt, state, decision, decision.write, post)
    elif decision.phase in promotions.TERMINAL:
        _finish(rt, promotion, decision.phase, decision.reason, decision.message, post, decision.status)
    elif decision.phase is not None:
        _patch_status(
            rt,
            promotion,
            {
                **decision.status,
                "phase": decision.phase,
                "message": decision.message,
                "conditions": _conditions(promotion, decision.phase, decision.message, rt),
            },
        )
        post(promotion, "Normal", decision.reason, decision.message)
        metrics.promotion_phase(promotion, decision.phase)


def _execute(rt: Runtime, state: PromotionState, decision: Decision, write: TargetWrite, post: Poster) -> None:
    promotion = state.promotion
    namespace = promotion["metadata"]["namespace"]
    assert state.target_env is not None
    progress = {**decision.status, "startedAt": (promotion.get("status") or {}).get("startedAt") or rfc3339(rt.clock())}
    # The source version goes on record before anything is written: retention spares it from now on.
    # It is also the claim: made only onto the Promotion as it was decided on, so of two
    # operator processes (or a retry racing a stale event) one executes, and every later attempt
    # follows the recorded source version (see read) rather than a HEAD that has moved on.
    claimed = promotionwrites.write_status(
        rt.kube,
        promotion,
        {
            **progress,
            "phase": "Running",
            "message": decision.message,
            "conditions": _conditions(promotion, "Running", decision.message, rt),
            "observedGeneration": promotion["metadata"].get("generation"),
        },
        whole=True,
    )
    if claimed is None:
        return  # deleted meanwhile: nothing to execute
    stall_point("promotion-claimed", f"{namespace}/{promotion['metadata']['name']}")
    # Later writes of its status are preconditioned on the Promotion as this claim left it.
    promotion = claimed
    state = replace(state, promotion=promotion)
    assert state.target_env is not None
    try:
        written, as_read = promotiontarget.write(rt.kube, namespace, write, state.target.flow if write.exists else None)
    except promotiontarget.TargetChanged as changed:
        raise RetryLater(f"{changed}; deciding again") from None
    uid = promotion["metadata"]["uid"]
    crash_point("after-promotion-target-written")
    # lastPromotion goes out in the commit's own status write: one write of the target's status.
    later: list[Callable[[], None]] = []
    outcome = flows.reconcile_locked(
        rt,
        written,
        state.target_env,
        post,
        records=list(state.target.records),
        later=later,
        own_promotion=True,
        known=flows.KnownContent(write.document, write.provenance["contentHash"], write.document_bytes)
        if write.document_bytes is not None
        else None,
        created_status=lambda created: (
            {"lastPromotion": _last_promotion(rt, state, decision.status["sourceVersion"], created.id)}
            if created.promotion_uid == uid
            else {}
        ),
        # Only over the Flow as read with the source: a report written meanwhile may be newer.
        sync_report=_sync_report(state, write, decision.status.get("sourceVersion")) if as_read else None,
    )
    # Only a version that records this Promotion is its own: one the commit recorded as an
    # ordinary change holds other content than was planned.
    own = outcome.created if outcome.created is not None and outcome.created.promotion_uid == uid else None
    record = own or next((r for r in versions.list_records(rt.kube, namespace, write.flow) if r.promotion_uid == uid), None)
    if record is None:
        altered = promotions.altered_on_write(
            write,
            state.target_env["metadata"]["name"],
            content_hash((written.get("spec") or {}).get("content") or {}),
            policy.protected(state.target_env.get("spec")),
            outcome.created,
        )
        if altered is not None:
            _finish(rt, promotion, "Failed", altered.reason, altered.message, post, {**progress, **altered.status})
            for later_write in later:
                later_write()
            return
        raise RetryLater(f"target flow {write.flow} has no version for this promotion yet")
    crash_point("after-promotion-version-created")
    _succeed(rt, state, record, post, progress, published=own is not None, target_flow=written)
    for later_write in later:  # the version's Event: once the user has the outcome
        later_write()


def _sync_report(
    state: PromotionState, write: TargetWrite, source_version: str | None
) -> Callable[[list[VersionRecord]], Mapping[str, Any] | None] | None:
    """The target's status.sync from this promotion's own reads, when its source is the
    target's upstream namesake: the report goes out with the status that moves HEAD, and
    neither side's versions are listed again for it."""
    target_env, source_env = state.target_env, state.source_env
    if target_env is None or source_env is None or not state.source.flow_found:
        return None
    source = (state.promotion.get("spec") or {}).get("source") or {}
    if (target_env.get("spec") or {}).get("upstream") != source_env["metadata"]["name"] or source.get("flow") != write.flow:
        return None
    documents = {str(write.provenance.get("contentHash")): write.document}
    chosen = next((r for r in state.source.records if r.id == source_version), None)
    if chosen is not None and state.source.document is not None:
        documents[chosen.content_hash] = state.source.document
    upstream_head = state.source.head
    return lambda records: sync.known_report(target_env, source_env, flowstatus.head_of(records), upstream_head, documents)


def _landed_source(rt: Runtime, namespace: str, landed: VersionRecord) -> str:
    version = rt.kube.get_or_none(FLOWVERSIONS, landed.name, namespace) or {}
    return str(((version.get("spec") or {}).get("source") or {}).get("version") or "")


def _conditions(
    promotion: Mapping[str, Any], phase: str, message: str, rt: Runtime, reason: str | None = None
) -> list[dict[str, Any]]:
    return promotionstatus.promotion_conditions(
        phase,
        message,
        promotion["metadata"].get("generation"),
        (promotion.get("status") or {}).get("conditions"),
        rfc3339(rt.clock()),
        reason,
    )


def _patch_status(rt: Runtime, promotion: Mapping[str, Any], status: Mapping[str, Any]) -> None:
    """Written only onto the Promotion as it was decided on: a decision made from an older
    view (a late event, another operator process) must not overwrite a newer outcome, nor a
    deleted Promotion's outcome land on a re-created one of the same name (a Promotion kept
    in git comes back). RetryLater when it changed: the next attempt reads it again."""
    promotionwrites.write_status(rt.kube, promotion, {**status, "observedGeneration": promotion["metadata"].get("generation")})


def _finish(
    rt: Runtime,
    promotion: Mapping[str, Any],
    phase: str,
    reason: str,
    message: str,
    post: Poster,
    extra: Mapping[str, Any] | None = None,
) -> None:
    now = rfc3339(rt.clock())
    status = {
        "startedAt": (promotion.get("status") or {}).get("startedAt") or now,
        **(extra or {}),
        "phase": phase,
        "message": message,
        "completedAt": now,
        "conditions": _conditions(promotion, phase, message, rt, reason),
    }
    _patch_status(rt, promotion, status)
    metrics.promotion_finished(promotion, phase, "" if reason == phase else reason)
    post(
        promotion,
        "Normal" if phase == "Succeeded" else "Warning",
        f"Promotion{phase}" if reason in ("", phase) else reason,
        message,
    )


def _last_promotion(rt: Runtime, state: PromotionState, source_version: str, version_id: str) -> dict[str, Any]:
    """The target Flow's status.lastPromotion."""
    promotion = state.promotion
    assert state.source_env is not None
    return {
        "name": promotion["metadata"]["name"],
        "sourceEnvironment": state.source_env["metadata"]["name"],
        "sourceFlow": promotion["spec"]["source"]["flow"],
        "sourceVersion": source_version,
        "version": version_id,
        "time": rfc3339(rt.clock()),
    }


def _succeed(
    rt: Runtime,
    state: PromotionState,
    record: VersionRecord,
    post: Poster,
    extra: Mapping[str, Any],
    published: bool = False,
    target_flow: Mapping[str, Any] | None = None,
) -> None:
    """`published`: the commit's status write already set lastPromotion (not so on resume)."""
    promotion = state.promotion
    meta, spec = promotion["metadata"], promotion.get("spec") or {}
    assert state.source_env is not None
    target_name = promotions.target_flow_name(spec)
    source_version = extra.get("sourceVersion") or ""
    message = (
        f"promoted {state.source_env['metadata']['name']}/{spec['source']['flow']}@{source_version} to "
        f"{target_name} as version {record.number} ({record.id}){_people(spec)}"
    )
    if not published:
        # Found landed (a resume, another process's work): only a current view republishes it.
        current = rt.kube.get_or_none(PROMOTIONS, meta["name"], meta["namespace"])
        if current is None or current["metadata"]["uid"] != meta["uid"]:
            return  # deleted, perhaps re-created under the same name: not ours to finish
        if not promotionwrites.as_decided(current, promotion):
            raise promotionwrites.changed_since_read(meta)
        _republish_last_promotion(rt, state, target_name, _last_promotion(rt, state, source_version, record.id))
    flow_meta = (
        (target_flow or {}).get("metadata") or state.target.metadata or {"name": target_name, "namespace": meta["namespace"]}
    )
    _finish(
        rt,
        promotion,
        "Succeeded",
        "PromotionSucceeded",
        message,
        post,
        {**extra, "targetFlow": target_name, "targetVersion": record.id, "targetNumber": record.number},
    )
    # The Flow's Event once the outcome is written: sent before, it competed with that write.
    event_body = {"apiVersion": FLOWS.api_version, "kind": FLOWS.kind, "metadata": flow_meta}
    post(event_body, "Normal", "Promoted", message + f" by Promotion {meta['name']}")


def _republish_last_promotion(rt: Runtime, state: PromotionState, target_name: str, last: Mapping[str, Any]) -> None:
    """Onto the target Flow as read while planning, unless it shows this Promotion or a
    later one already: version ids increase per flow, and a Promotion resumed after a crash
    may find that a newer one has landed meanwhile (its record must stand)."""
    target = state.target.flow or {}
    shown = ((target.get("status") or {}).get("lastPromotion") or {}).get("version") or ""
    if str(shown) >= str(last["version"]):
        return
    namespace = state.promotion["metadata"]["namespace"]
    try:
        rt.kube.patch_status(
            FLOWS,
            target_name,
            {"lastPromotion": dict(last)},
            namespace,
            resource_version=(target.get("metadata") or {}).get("resourceVersion"),
        )
    except Conflict:
        raise RetryLater(f"target flow {target_name} changed since it was read; deciding again") from None


def _people(spec: Mapping[str, Any]) -> str:
    """ ", requested by alice, approved by bob (via GitOps)": who, for the audit trail in Events."""
    requester, approver = spec.get("requestedBy") or {}, spec.get("approvedBy") or {}
    parts = []
    if requester.get("username"):
        parts.append(f"requested by {requester['username']}")
    if approver.get("username"):
        parts.append(f"approved by {approver['username']}" + (" via GitOps" if approver.get("via") == "GitOps" else ""))
    return ", " + ", ".join(parts) if parts else ""
