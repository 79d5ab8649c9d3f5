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
from . import plansummary, policy, selection, values
from .canonical import content_hash
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

    @property
    def empty(self) -> bool:
        return self.result_hash == self.base_hash

    def to_status(self) -> dict[str, Any]:
        summary = plansummary.summarise(list(self.changes), PLAN_MAX_CHANGES, PLAN_MAX_VALUE_CHARS)
        if self.kept:
            summary["preserved"] = values.kept_status(self.kept, PLAN_MAX_CHANGES, PLAN_MAX_VALUE_CHARS)
        return {**summary, "contentHash": self.result_hash}


def compute(base: Any | None, source: Any, include: Sequence[str] = (), exclude: Sequence[str] = (),
            preserved: Sequence[str] = ()) -> Plan:
    """`base` is the target's HEAD document (None when the target flow does not exist);
    `preserved` are the target environment's spec.preservedPaths."""
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
    return Plan(tuple(selected), result, content_hash(result), content_hash(base) if base is not None else None, owned.kept)


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


@dataclass(frozen=True)
class SourceSide:
    """`flow_found` False: the source flow does not exist. `document` is the chosen
    version's content (or the Flow's spec.content for `uncommitted`); None when unread."""

    flow_found: bool = False
    records: tuple[VersionRecord, ...] = ()
    document: Any = None
    transition: str = "RestartInProgress"


@dataclass(frozen=True)
class TargetSide:
    """The target flow as it serves now: its versions, HEAD and HEAD's document."""

    flow_found: bool = False
    records: tuple[VersionRecord, ...] = ()
    head: VersionRecord | None = None
    document: Any = None
    metadata: Mapping[str, Any] | None = None  # the target Flow's, for Events


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


# ---- what to do ----------------------------------------------------------------------

@dataclass(frozen=True)
class TargetWrite:
    """Write `document` into the target flow with `provenance`, then commit it as a version."""

    flow: str
    document: Any
    transition: str
    provenance: dict[str, Any]
    exists: bool


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


def _refuse(reason: str, message: str, status: Mapping[str, Any] | None = None) -> Decision:
    return Decision("Failed", reason, message, dict(status or {}))


def target_flow_name(spec: Mapping[str, Any]) -> str:
    return str((spec.get("target") or {}).get("flow") or (spec.get("source") or {}).get("flow") or "")


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
        return _refuse("NoEnvironment", (
            f"namespace {namespace} belongs to no Environment: create the Promotion in the namespace of the "
            "environment you promote into (an Environment's spec.namespace)"
        ))
    source_env = state.source_env
    if source_env is None:
        return _refuse("UnknownEnvironment", (
            f"spec.source.environment {source_spec.get('environment')!r} does not exist; environments: "
            f"{', '.join(sorted(state.known_environments)) or 'none'}"
        ))
    source_env_name, target_env_name = source_env["metadata"]["name"], target_env["metadata"]["name"]

    # Exactly once: the version this very Promotion wrote is reported, whatever moved since.
    landed = next((r for r in state.target.records if r.promotion_uid == uid), None)
    if landed is not None:
        return Decision("Succeeded", "PromotionSucceeded", status={"sourceVersion": current.get("sourceVersion") or ""}, landed=landed)

    if not state.source.flow_found:
        return _refuse("UnknownFlow", (
            f"spec.source.flow {source_spec.get('flow')!r} does not exist in environment {source_env_name} "
            f"(namespace {source_env['spec']['namespace']})"
        ))
    choice = choose_source(source_spec.get("version"), state.source.records, _head_of(state.source.records))
    if choice.error:
        return _refuse("UnknownVersion", choice.error)
    if choice.uncommitted:
        if policy.protected(source_env["spec"]):
            return _refuse("UncommittedFromProtected", (
                f"spec.source.version uncommitted is not allowed from protected environment {source_env_name}: "
                "name a committed version (HEAD, a number or an id)"
            ))
        source_version, source_number = "uncommitted", None
    else:
        assert choice.record is not None
        record = choice.record
        if not record.ready and _selector_kind(source_spec.get("version")) != "head":
            rules = f": {record.guardrails}" if record.guardrails else ""
            return _refuse("VersionNotReady", (
                f"version {record.number} ({record.id}) of {source_spec.get('flow')} failed its guardrails in "
                f"{source_env_name}{rules} Fix the flow there and promote the new version, or promote a ready version"
            ))
        source_version, source_number = record.id, record.number

    if state.target.flow_found and spec.get("ifTargetExists") == "Fail":
        return _refuse("TargetExists", (
            f"flow {target_name} already exists in environment {target_env_name} and "
            "spec.ifTargetExists is Fail: set it to Replace to make this the flow's next version, or promote under another name (spec.target.flow)"
        ))
    target_head = state.target.head.id if state.target.head else None
    same_flow = source_env["spec"]["namespace"] == namespace and source_spec.get("flow") == target_name
    if same_flow and source_version == target_head:
        return _refuse("SameVersion", (
            f"source and target are the same version ({source_version}) of flow {target_name}: "
            "to roll back, name an older version in spec.source.version"
        ))

    changes = spec.get("changes") or {}
    preserved = values.preserved_paths(target_env)
    owned = values.preserved_include_problem(changes.get("include") or (), preserved, target_env_name)
    if owned:
        return _refuse("PreservedPath", owned, {"sourceVersion": source_version})
    try:
        plan = compute(state.target.document, state.source.document, changes.get("include") or (), changes.get("exclude") or (),
                       preserved)
    except PromotionRejected as exc:
        return _refuse(exc.reason, str(exc), {"sourceVersion": source_version})
    progress: dict[str, Any] = {
        "sourceVersion": source_version,
        "targetFlow": target_name,
        "targetBaseVersion": target_head or "",
        "plan": plan.to_status(),
    }
    if source_number is not None:
        progress["sourceNumber"] = source_number
    missing = values.missing_message(plan.result, (target_env.get("spec") or {}).get("values"), target_env_name)
    if missing:
        return _refuse("ValuesNotDefined", f"the promoted document cannot be rendered in environment {target_env_name}; "
                                           f"nothing was written. {missing}", progress)
    ok, summary = summarize(list(state.check(plan.result, plan.result_hash)))
    if not ok:
        return _refuse("GuardrailsFailed", (
            f"the promoted document fails the guardrails of environment {target_env_name}; nothing was written. {summary}"
        ), progress)
    if plan.empty:
        return Decision("Succeeded", "NothingToPromote",
                        f"nothing to promote: {target_name} HEAD already has this content; no version created", progress)
    if spec.get("review") and not spec.get("approved"):
        if current.get("phase") == "AwaitingApproval":
            return Decision(None, "AwaitingApproval")
        message = f"plan ready: {plan.to_status()['total']} change(s) to {target_name}; approve with spec.approved: true"
        return Decision("AwaitingApproval", "AwaitingApproval", message, progress)
    if spec.get("review"):
        stale = stale_reason(current, source_version, target_head, plan.result_hash)
        if stale:
            return _refuse("PlanStale", stale)

    provenance = {
        "uid": uid, "name": meta["name"], "namespace": namespace, "contentHash": plan.result_hash,
        "sourceEnvironment": source_env_name, "sourceFlow": source_spec.get("flow"), "sourceVersion": source_version,
        "comment": spec.get("comment") or f"promoted from {source_env_name}/{source_spec.get('flow')}@{source_version}",
    }
    write = TargetWrite(target_name, plan.result, state.source.transition, provenance, state.target.flow_found)
    return Decision("Running", "Writing", "writing the target version", progress, write=write)


def _head_of(records: Sequence[VersionRecord]) -> VersionRecord | None:
    return max((r for r in records if r.can_be_head), key=lambda r: r.number, default=None)


def _selector_kind(text: Any) -> str:
    try:
        selector: Selector = parse_selector(text or "HEAD")
    except ValueError:
        return ""
    return selector.kind
