"""What a Promotion does next, decided from what was read: one pure function, `decide`.

The service reads the source, the target and the policy into a `PromotionState`, calls
`decide` once and performs the writes the `Decision` names. Every rule is a branch here,
so each is table-tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import diff as diffs
from . import plansummary, policy, selection, separation, values
from .binding import resolve_request
from .canonical import canonical_json, content_hash, hash_of_canonical
from .commit import VersionRecord
from .guardrails import RuleResult, summarize
from .versionid import Selector, VersionNotFound, VersionRef, parse_selector, resolve_selector

# Status must stay well inside one object: a plan lists at most this many changes.
PLAN_MAX_CHANGES = 100
PLAN_MAX_VALUE_CHARS = 256

TERMINAL = ("Succeeded", "Failed")


class PromotionRejected(ValueError):
    """The Promotion cannot proceed; the message tells the user what to change."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Plan:
    changes: tuple[diffs.Change, ...]
    result: Any
    result_hash: str
    base_hash: str | None
    kept: tuple[values.Kept, ...] = ()  # environment-owned parts left as they are
    result_bytes: int | None = None  # the size of the result's canonical JSON, when known

    @property
    def empty(self) -> bool:
        return self.result_hash == self.base_hash

    def to_status(self) -> dict[str, Any]:
        summary = plansummary.summarise(list(self.changes), PLAN_MAX_CHANGES, PLAN_MAX_VALUE_CHARS)
        if self.kept:
            summary["preserved"] = values.kept_status(self.kept, PLAN_MAX_CHANGES, PLAN_MAX_VALUE_CHARS)
        return {**summary, "contentHash": self.result_hash}


def compute(
    base: Any | None,
    source: Any,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    preserved: Sequence[str] = (),
    base_hash: str | None = None,
    source_hash: str | None = None,
    source_bytes: int | None = None,
) -> Plan:
    """`base` is the target's HEAD document (None when the target flow does not exist);
    `preserved` are the target environment's spec.preservedPaths. `base_hash`,
    `source_hash` and `source_bytes`: the two documents' content hashes and the source's
    size when their versions record them (hashing a large document means serialising it)."""
    start = base if base is not None else {}
    try:
        selected, result = selection.select(start, source, include, exclude)
    except selection.PointerMatchesNothing as exc:
        raise PromotionRejected("PointerMatchesNothing", str(exc)) from None
    except ValueError as exc:
        raise PromotionRejected("InvalidSelection", str(exc)) from None
    owned = values.preserve(base, result, preserved)
    if owned.kept:
        result, selected = owned.document, diffs.diff(start, owned.document)
    if source_hash and result is source:
        result_hash, result_bytes = source_hash, source_bytes
    else:
        raw = canonical_json(result)
        result_hash, result_bytes = hash_of_canonical(raw), len(raw)
    base_digest = None if base is None else base_hash or content_hash(base)
    return Plan(tuple(selected), result, result_hash, base_digest, owned.kept, result_bytes)


def stale_reason(planned: Mapping[str, Any], source_version: str, target_head: str | None, result_hash: str) -> str | None:
    """Why an approved plan no longer describes what would be written (None if it does).

    Approval is for a plan, not for whatever is current later: a moved side fails the
    Promotion rather than silently writing something nobody reviewed."""
    if planned.get("sourceVersion") and planned["sourceVersion"] != source_version:
        return (
            f"the source moved since the plan was made (planned {planned['sourceVersion']}, now {source_version}); "
            "nothing was written: create a new Promotion to review the new plan"
        )
    if (planned.get("targetBaseVersion") or None) != (target_head or None):
        return (
            f"the target changed since the plan was made (planned against {planned.get('targetBaseVersion') or 'no flow'}, "
            f"now {target_head or 'no flow'}); nothing was written: create a new Promotion to review the new plan"
        )
    planned_hash = (planned.get("plan") or {}).get("contentHash")
    if planned_hash and planned_hash != result_hash:
        return "the promoted content changed since the plan was made; nothing was written: create a new Promotion to review the new plan"
    return None


# ---- what was read -------------------------------------------------------------------


@dataclass(frozen=True)
class SourceChoice:
    """The source version a selector names: a committed version, `uncommitted`, or why neither."""

    record: VersionRecord | None = None
    uncommitted: bool = False
    error: str | None = None


def source_selector(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Any:
    """The source version this attempt follows. Once an attempt has claimed a committed
    version (phase Running), every later attempt follows it, whatever HEAD is by then:
    the document read, its hash and the write must all be that one version's."""
    if status.get("phase") == "Running" and status.get("sourceVersion") not in (None, "", "uncommitted"):
        return status["sourceVersion"]
    return (spec.get("source") or {}).get("version")


def choose_source(selector_text: Any, records: Sequence[VersionRecord], head: VersionRecord | None) -> SourceChoice:
    """Resolve `spec.source.version` against the source flow's versions (quarantined ones excluded).
    The service calls it to know which document to read; `decide` calls it again."""
    try:
        selector = parse_selector(selector_text or "HEAD")
    except ValueError as exc:
        return SourceChoice(error=f"spec.source.version: {exc}")
    if selector.kind == "uncommitted":
        return SourceChoice(uncommitted=True)
    refs = [VersionRef(r.id, r.number, r.content_hash) for r in records]
    try:
        ref = resolve_selector(selector, refs, head.id if head else None)
    except VersionNotFound as exc:
        return SourceChoice(error=f"spec.source.version {selector}: {exc}")
    return SourceChoice(record=next(r for r in records if r.id == ref.id))


def claim_fits_spec(spec_selector: Any, chosen: VersionRecord) -> bool:
    """Whether the version chosen (from a claim, on later attempts) is one the spec's own
    selector names. Only the operator writes a Promotion's status, so a claim should never
    disagree; if that rule were bypassed, an approval of version 2 still cannot ship 7.
    HEAD is not checked: the claim pinned HEAD as it was when claimed."""
    try:
        selector = parse_selector(spec_selector or "HEAD")
    except ValueError:
        return False
    if selector.kind == "number":
        return chosen.number == selector.value
    if selector.kind == "id":
        return chosen.id == selector.value
    if selector.kind == "hash":
        return chosen.content_hash == selector.value
    return True


@dataclass(frozen=True)
class SourceSide:
    """`flow_found` False: the source flow does not exist. `document` is the chosen
    version's content (or the Flow's spec.content for `uncommitted`); None when unread."""

    flow_found: bool = False
    records: tuple[VersionRecord, ...] = ()
    document: Any = None
    transition: str = "RestartInProgress"
    document_bytes: int | None = None  # its canonical JSON's size, as its version records it
    head: VersionRecord | None = None  # HEAD as its versions were listed (verdicts as stored)


@dataclass(frozen=True)
class TargetSide:
    """The target flow as it serves now: its versions, HEAD and HEAD's document."""

    flow_found: bool = False
    records: tuple[VersionRecord, ...] = ()
    head: VersionRecord | None = None
    document: Any = None
    metadata: Mapping[str, Any] | None = None  # the target Flow's, for Events
    flow: Mapping[str, Any] | None = None  # the whole target Flow as read: what a write replaces


Check = Callable[[Any, str], Sequence[RuleResult]]


def _no_rules(document: Any, digest: str) -> Sequence[RuleResult]:
    return ()


@dataclass(frozen=True)
class PromotionState:
    promotion: Mapping[str, Any]
    target_env: Mapping[str, Any] | None
    source_env: Mapping[str, Any] | None
    known_environments: tuple[str, ...] = ()
    source: SourceSide = field(default_factory=SourceSide)
    target: TargetSide = field(default_factory=TargetSide)
    # The target environment's guardrails over (document, content hash): deterministic.
    check: Check = _no_rules
    # Whether spec.requestedBy may read the source flow (a SubjectAccessReview); None: not asked.
    requester_may_read: bool | None = None
    # Whether spec.approvedBy (as the API server stamped it) holds the approve permission here; None: not asked.
    approver_may_approve: bool | None = None
    # The first right (a SubjectAccessReview) by which that approver and the requester could
    # be one person (separation.questions); None: none, or not asked.
    same_person: separation.Question | None = None
    # The target namespace's ApiClients and Applications, read for a review's impact.
    clients: tuple[Mapping[str, Any], ...] = ()
    applications: tuple[Mapping[str, Any], ...] = ()


# ---- what to do ----------------------------------------------------------------------


@dataclass(frozen=True)
class TargetWrite:
    """Write `document` into the target flow with `provenance`, then commit it as a version."""

    flow: str
    document: Any
    transition: str
    provenance: dict[str, Any]
    exists: bool
    document_bytes: int | None = None  # the size of the document's canonical JSON, when known


@dataclass(frozen=True)
class Decision:
    """`phase`: the phase to publish with `status` (None: publish nothing); `reason` and
    `message` name why; `write`: the target write to perform; `landed`: the version this
    Promotion already produced (report it, write nothing)."""

    phase: str | None
    reason: str = ""
    message: str = ""
    status: dict[str, Any] = field(default_factory=dict)
    write: TargetWrite | None = None
    landed: VersionRecord | None = None

    @property
    def refused(self) -> bool:
        return self.phase == "Failed"


# A failed Promotion is final and its spec fixed: every fix its message names goes into a new one.
NEW_PROMOTION = "a failed Promotion is not retried and its spec does not change: create a new Promotion with the fix"


def _refuse(reason: str, message: str, status: Mapping[str, Any] | None = None) -> Decision:
    if "new Promotion" not in message and "create the Promotion" not in message:
        message = f"{message} ({NEW_PROMOTION})"
    return Decision("Failed", reason, message, dict(status or {}))


def target_flow_name(spec: Mapping[str, Any]) -> str:
    return str((spec.get("target") or {}).get("flow") or (spec.get("source") or {}).get("flow") or "")


def spec_hash(spec: Mapping[str, Any]) -> str:
    """What a Promotion asks for, as one hash: a re-created copy (git, a restore) has the same."""
    return content_hash(
        {"source": spec.get("source") or {}, "target": spec.get("target") or {}, "changes": spec.get("changes") or {}}
    )


def decide(state: PromotionState) -> Decision:
    promotion = state.promotion
    meta, spec, current = promotion["metadata"], promotion.get("spec") or {}, promotion.get("status") or {}
    source_spec = spec.get("source") or {}
    namespace, uid = meta["namespace"], meta["uid"]
    target_name = target_flow_name(spec)

    if current.get("phase") in TERMINAL:
        return Decision(None, "Finished")
    target_env = state.target_env
    if target_env is None:
        return _refuse(
            "NoEnvironment",
            (
                f"namespace {namespace} belongs to no Environment: create the Promotion in the namespace of the "
                "environment you promote into (an Environment's spec.namespace)"
            ),
        )
    source_env = state.source_env
    if source_env is None:
        return _refuse(
            "UnknownEnvironment",
            (
                f"spec.source.environment {source_spec.get('environment')!r} does not exist; environments: "
                f"{', '.join(sorted(state.known_environments)) or 'none'}"
            ),
        )
    source_env_name, target_env_name = source_env["metadata"]["name"], target_env["metadata"]["name"]
    target_spec = target_env["spec"]

    # Exactly once: the version this very Promotion wrote is reported, whatever moved since.
    landed = next((r for r in state.target.records if r.promotion_uid == uid), None)
    if landed is not None:
        return Decision(
            "Succeeded", "PromotionSucceeded", status={"sourceVersion": current.get("sourceVersion") or ""}, landed=landed
        )
    # Idempotent per name and spec: a re-created copy (kept in git) reports the earlier result.
    digest = spec_hash(spec)
    earlier = next(
        (r for r in reversed(state.target.records) if r.promotion_name == meta["name"] and r.promotion_spec_hash == digest), None
    )
    if earlier is not None:
        return Decision(
            "Succeeded",
            "AlreadyPromoted",
            (
                f"already promoted: version {earlier.number} ({earlier.id}) of {target_name} was made by a Promotion "
                f"with this name and spec; nothing was written (to promote again, create a Promotion with a new name)"
            ),
            landed=earlier,
        )

    refusal = _governance(state, spec, source_env_name, target_env_name, target_name)
    if refusal is not None:
        return refusal

    if not state.source.flow_found:
        return _refuse(
            "UnknownFlow",
            (
                f"spec.source.flow {source_spec.get('flow')!r} does not exist in environment {source_env_name} "
                f"(namespace {source_env['spec']['namespace']})"
            ),
        )
    choice = choose_source(source_selector(spec, current), state.source.records, _head_of(state.source.records))
    if choice.error:
        return _refuse("UnknownVersion", choice.error)
    if choice.record is not None and not claim_fits_spec(source_spec.get("version"), choice.record):
        return _refuse(
            "ClaimMismatch",
            (
                f"status.sourceVersion {choice.record.id} (version {choice.record.number}) is not a version "
                f"spec.source.version {source_spec.get('version')!r} names: only the flowops operator writes a "
                "Promotion's status; nothing was promoted, create a new Promotion"
            ),
        )
    if choice.uncommitted:
        if policy.protected(source_env["spec"]):
            return _refuse(
                "UncommittedFromProtected",
                (
                    f"spec.source.version uncommitted is not allowed from protected environment {source_env_name}: "
                    "name a committed version (a number, an id or sha256:<hash>)"
                ),
            )
        if not policy.allow_uncommitted_source(target_spec):
            return _refuse(
                "UncommittedNotAllowed",
                (
                    f"spec.source.version uncommitted: environment {target_env_name} takes committed versions only "
                    "(spec.policy.promotion.allowUncommittedSource is honoured for Development targets); commit the "
                    "change in the source and name that version"
                ),
            )
        source_version, source_number = "uncommitted", None
    else:
        assert choice.record is not None
        record = choice.record
        if _selector_kind(source_spec.get("version")) == "head" and not policy.allow_head_source(target_spec):
            return _refuse(
                "HeadSourceNotAllowed",
                (
                    f"environment {target_env_name} is protected: spec.source.version must name the version to promote "
                    f"(a number, an id or sha256:<content hash>), not HEAD, so what was tested is what lands; HEAD of "
                    f"{source_env_name}/{source_spec.get('flow')} is version {record.number} ({record.id}). "
                    "kubectl flowops promote --dry-run=client -o yaml prints a pinned Promotion"
                ),
            )
        if not record.ready and _selector_kind(source_spec.get("version")) != "head":
            rules = f": {record.guardrails}" if record.guardrails else ""
            return _refuse(
                "VersionNotReady",
                (
                    f"version {record.number} ({record.id}) of {source_spec.get('flow')} failed its guardrails in "
                    f"{source_env_name}{rules} Fix the flow there and promote the new version, or promote a ready version"
                ),
            )
        source_version, source_number = record.id, record.number

    if state.target.flow_found and spec.get("ifTargetExists") == "Fail":
        return _refuse(
            "TargetExists",
            (
                f"flow {target_name} already exists in environment {target_env_name} and "
                "spec.ifTargetExists is Fail: set it to Replace to make this the flow's next version, or promote under another name (spec.target.flow)"
            ),
        )
    target_head = state.target.head.id if state.target.head else None
    same_flow = source_env["spec"]["namespace"] == namespace and source_spec.get("flow") == target_name
    if same_flow and source_version == target_head:
        return _refuse(
            "SameVersion",
            (
                f"source and target are the same version ({source_version}) of flow {target_name}: "
                "to roll back, name an older version in spec.source.version"
            ),
        )

    changes = spec.get("changes") or {}
    preserved = values.preserved_paths(target_env)
    owned = values.preserved_include_problem(changes.get("include") or (), preserved, target_env_name)
    if owned:
        return _refuse("PreservedPath", owned, {"sourceVersion": source_version})
    try:
        plan = compute(
            state.target.document,
            state.source.document,
            changes.get("include") or (),
            changes.get("exclude") or (),
            preserved,
            base_hash=state.target.head.content_hash if state.target.head else None,
            source_hash=next((r.content_hash for r in state.source.records if r.id == source_version), None),
            source_bytes=state.source.document_bytes,
        )
    except PromotionRejected as exc:
        return _refuse(exc.reason, str(exc), {"sourceVersion": source_version})
    plan_status = plan.to_status()
    if spec.get("review"):
        # Listed while it awaits approval; once approved, the impact that was reviewed stays.
        reviewed = (current.get("plan") or {}).get("impact")
        plan_status["impact"] = (
            reviewed
            if spec.get("approved") and reviewed is not None
            else (impact(target_name, state.clients, state.applications))
        )
    progress: dict[str, Any] = {
        "sourceVersion": source_version,
        "targetFlow": target_name,
        "targetBaseVersion": target_head or "",
        "plan": plan_status,
    }
    if source_number is not None:
        progress["sourceNumber"] = source_number
    missing = values.missing_message(plan.result, (target_env.get("spec") or {}).get("values"), target_env_name)
    if missing:
        return _refuse(
            "ValuesNotDefined",
            f"the promoted document cannot be rendered in environment {target_env_name}; nothing was written. {missing}",
            progress,
        )
    ok, summary = summarize(list(state.check(plan.result, plan.result_hash)))
    if not ok:
        return _refuse(
            "GuardrailsFailed",
            (f"the promoted document fails the guardrails of environment {target_env_name}; nothing was written. {summary}"),
            progress,
        )
    if plan.empty:
        return Decision(
            "Succeeded",
            "NothingToPromote",
            f"nothing to promote: {target_name} HEAD already has this content; no version created",
            progress,
        )
    if spec.get("review") and not spec.get("approved"):
        if current.get("phase") == "AwaitingApproval":
            return Decision(None, "AwaitingApproval")
        message = (
            f"plan ready: {plan_status['total']} change(s) to {target_name}{_impact_note(plan_status['impact'])}; "
            f"approve with spec.approved: true (kubectl flowops approve {meta['name']} -n {target_env_name}){_requested_by(spec)}"
        )
        return Decision("AwaitingApproval", "AwaitingApproval", message, progress)
    if spec.get("review"):
        refusal = _approval(spec, target_spec, target_env_name, state.approver_may_approve, state.same_person)
        if refusal is not None:
            return refusal
        stale = stale_reason(current, source_version, target_head, plan.result_hash)
        if stale:
            return _refuse("PlanStale", stale)

    provenance = {
        "uid": uid,
        "name": meta["name"],
        "namespace": namespace,
        "contentHash": plan.result_hash,
        "specHash": digest,
        "sourceEnvironment": source_env_name,
        "sourceFlow": source_spec.get("flow"),
        "sourceVersion": source_version,
        "comment": spec.get("comment") or f"promoted from {source_env_name}/{source_spec.get('flow')}@{source_version}",
        "plan": {"total": plan_status["total"], "paths": [c.path[:256] for c in plan.changes[:PROVENANCE_PATHS]]},
    }
    for key in ("requestedBy", "approvedBy"):
        if spec.get(key):
            provenance[key] = dict(spec[key])
    write = TargetWrite(target_name, plan.result, state.source.transition, provenance, state.target.flow_found, plan.result_bytes)
    return Decision("Running", "Writing", "writing the target version", progress, write=write)


PROVENANCE_PATHS = 20


def is_rollback(spec: Mapping[str, Any], source_env_name: str, target_env_name: str) -> bool:
    source = spec.get("source") or {}
    return source_env_name == target_env_name and target_flow_name(spec) == source.get("flow")


def _governance(
    state: PromotionState, spec: Mapping[str, Any], source_env_name: str, target_env_name: str, target_name: str
) -> Decision | None:
    """The target environment's promotion policy, checked again before anything is computed
    (admission checks it first; this holds when admission was bypassed or changed)."""
    target_spec = (state.target_env or {}).get("spec") or {}
    allowed = policy.allowed_sources(target_env_name, target_spec)
    if source_env_name not in allowed:
        return _refuse(
            "SourceNotAllowed",
            (
                f"environment {target_env_name} accepts promotions only from {', '.join(allowed)}, not from {source_env_name} "
                "(spec.policy.promotion.allowedSources, default its upstream): promote through the chain"
            ),
        )
    if state.requester_may_read is False:
        who = (spec.get("requestedBy") or {}).get("username") or "the requester"
        return _refuse(
            "SourceNotReadable",
            (
                f"{who} may not read flows in environment {source_env_name}: a Promotion copies only what its requester "
                "can read; nothing was computed"
            ),
        )
    if policy.require_review(target_spec) and not spec.get("review"):
        return _refuse(
            "ReviewRequired",
            (
                f"environment {target_env_name} requires review (spec.policy.promotion.requireReview): create the "
                "Promotion with spec.review: true (kubectl flowops promote --review) and have a second person approve it"
            ),
        )
    frozen = policy.freeze(target_spec)
    if frozen is not None:
        rollback = is_rollback(spec, source_env_name, target_env_name)
        if not rollback or frozen.get("allowRollback") is False:
            what = "rollbacks too (spec.freeze.allowRollback is false)" if rollback else "only rollbacks are allowed"
            return _refuse(
                "Frozen", f"environment {target_env_name} is frozen: {frozen.get('reason') or 'no reason given'}; {what}"
            )
    return None


def _approval(
    spec: Mapping[str, Any],
    target_spec: Mapping[str, Any],
    target_env_name: str,
    may_approve: bool | None = None,
    same_person: separation.Question | None = None,
) -> Decision | None:
    """An approval counts when the API server signed it and policy accepts the approver."""
    if not policy.require_review(target_spec):
        return None
    approver = spec.get("approvedBy") or {}
    username = approver.get("username")
    if not username:
        return _refuse(
            "ApprovalUnsigned",
            (
                "spec.approved is true but spec.approvedBy is missing: an approval counts only when the API server "
                f"records the approver (environment {target_env_name} requires review); approve with kubectl flowops approve"
            ),
        )
    requester = (spec.get("requestedBy") or {}).get("username")
    if approver.get("via") == "GitOps":
        problem = policy.gitops_approver_problem(username, target_spec.get("namespace"))
        if problem:
            return _refuse(
                "ApproverNotAllowed",
                f"{username} approved via GitOps, but {problem} (spec.policy.promotion.gitopsApprovers of environment "
                f"{target_env_name}); nothing was written",
            )
        listed = policy.gitops_approvers(target_spec)
        if username not in listed:
            return _refuse(
                "ApproverNotAllowed",
                (
                    f"{username} approved via GitOps but is not in spec.policy.promotion.gitopsApprovers of environment "
                    f"{target_env_name}; nothing was written"
                ),
            )
        if requester not in listed:  # a pull request reviewed what git holds, not a Promotion made in the cluster
            return _refuse(
                "ApproverNotAllowed",
                (
                    f"{username} approved via GitOps a Promotion {requester or 'somebody'} created in the cluster: a GitOps "
                    "approval counts only for a Promotion applied from git; a person with the approve permission must "
                    "approve this one; nothing was written"
                ),
            )
        return None  # the review happened in the pull request
    if username in policy.gitops_approvers(target_spec):  # its approval stands for a pull request, nothing else
        return _refuse(
            "ApproverNotAllowed",
            (
                f"{username} is a GitOps approver of environment {target_env_name} and approved a Promotion "
                f"{requester or 'somebody'} created in the cluster: it approves only Promotions it applied from git; "
                "a person with the approve permission must approve this one; nothing was written"
            ),
        )
    if policy.separation_of_duties(target_spec) and requester and requester == username:
        return _refuse(
            "SelfApproval",
            (
                f"{username} requested this Promotion and cannot approve it (separation of duties in environment "
                f"{target_env_name}): another person with the approve permission must approve; nothing was written"
            ),
        )
    if policy.separation_of_duties(target_spec) and same_person is not None:
        return _refuse("SelfApproval", separation.refusal(same_person, requester or "", username, target_env_name))
    if may_approve is False:  # admission checks it first; this holds when its policies were removed or bypassed
        return _refuse(
            "ApproverNotAllowed",
            (
                f"{username} may not approve Promotions in environment {target_env_name} (the approve permission on "
                "promotions, ClusterRole flowops-approver): the approval does not count; nothing was written"
            ),
        )
    groups = policy.approver_groups(target_spec)
    if groups is not None and not policy.in_approver_groups(groups, approver.get("groups")):
        return _refuse(
            "ApproverNotInGroup",
            (
                f"{username} is in none of the approver groups of environment {target_env_name} ({', '.join(groups)}); "
                "nothing was written"
            ),
        )
    return None


def impact(flow: str, clients: Sequence[Mapping[str, Any]], applications: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Who uses the target flow: those following HEAD switch when the version lands; pinned
    ones are unaffected until re-pinned."""
    apps = {a["metadata"]["name"]: a.get("spec") or {} for a in applications}
    following: list[dict[str, str]] = []
    pinned: list[dict[str, str]] = []

    def place(kind: str, name: str, version: str | None) -> None:
        entry = {"kind": kind, "name": name}
        if _selector_kind(version) == "head":
            following.append(entry)
        else:
            pinned.append({**entry, "version": str(version)})

    for name, app in sorted(apps.items()):
        default = app.get("defaultFlow") or {}
        if default.get("name") == flow:
            place("Application", name, default.get("version") or "HEAD")
    for client in sorted(clients, key=lambda c: c["metadata"]["name"]):
        client_spec = client.get("spec") or {}
        resolution = resolve_request(client_spec, apps.get(client_spec.get("application") or ""))
        if resolution.name == flow:
            place("ApiClient", client["metadata"]["name"], resolution.version)
    return {"followingHead": following, "pinned": pinned}


def _impact_note(impact_status: Mapping[str, Any]) -> str:
    following, pinned = impact_status.get("followingHead") or [], impact_status.get("pinned") or []
    if not following and not pinned:
        return ""
    return f" ({len(following)} following HEAD switch at once, {len(pinned)} pinned unaffected)"


def _requested_by(spec: Mapping[str, Any]) -> str:
    who = (spec.get("requestedBy") or {}).get("username")
    return f" (requested by {who})" if who else ""


def _head_of(records: Sequence[VersionRecord]) -> VersionRecord | None:
    return max((r for r in records if r.can_be_head), key=lambda r: r.number, default=None)


def _selector_kind(text: Any) -> str:
    try:
        selector: Selector = parse_selector(text or "HEAD")
    except ValueError:
        return ""
    return selector.kind


def altered_on_write(
    write: TargetWrite, target_env: str, stored_hash: str, protected: bool, recorded: VersionRecord | None
) -> Decision | None:
    """The API server stored other content than the Promotion wrote (an admission mutation
    or webhook on Flows): what landed is not what was planned and reviewed, so it is not
    this Promotion's version. `recorded`: the version that content became, if any."""
    planned = str(write.provenance.get("contentHash") or "")
    if stored_hash == planned:
        return None
    if protected:
        fate = f"environment {target_env} is protected, so the operator restores the flow's last version"
    elif recorded is not None:
        fate = f"it was recorded as version {recorded.number} ({recorded.id}), an ordinary change, not this Promotion's"
    else:
        fate = "it is not recorded as this Promotion's version"
    return _refuse(
        "ContentAltered",
        (
            f"the API server stored different spec.content for flow {write.flow} than this Promotion wrote "
            f"(planned {planned}, stored {stored_hash}): an admission policy or webhook on flows.flowops.io changes it; "
            f"{fate}. Exempt Flows from that mutation, then promote again with a new Promotion"
        ),
        {"targetFlow": write.flow},
    )
