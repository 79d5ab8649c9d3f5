"""The concrete version a requested (flow, selector) names, or why there is none (pure).

Shared by ApiClients and Applications: both ask "which version does this setting mean
right now", and both must refuse HEAD where the environment forbids it and never hand
out a version that failed guardrails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .binding import head_allowed
from .commit import VersionRecord
from .versionid import Selector, VersionNotFound, VersionRef, parse_selector, resolve_selector

__all__ = [
    "FROZEN",
    "WAITING_FOR_PROMOTION",
    "Problem",
    "UnfinishedPromotion",
    "awaiting_promotion",
    "check_selector",
    "choose_version",
    "flow_missing",
    "is_head_selector",
    "values_frozen",
]


@dataclass(frozen=True)
class Problem:
    """Why a binding cannot be resolved. stalled=False: it will resolve without anyone
    acting (e.g. the flow's first version is still being committed). suspended (only when
    not stalled): it waits for a person's go-ahead that is no fault, a Promotion awaiting
    approval; read as that Promotion is (kstatus Current, Argo CD Suspended)."""

    reason: str
    message: str
    stalled: bool = True
    suspended: bool = False


FROZEN = "Frozen"


def values_frozen(environment: str, reason: str | None, changed: list[str]) -> Problem:
    """A change of values while the environment is frozen: the client keeps what it serves
    until the freeze is lifted. No fault and nothing the operator works on: it waits for a
    person, like a Promotion awaiting approval (kstatus Current, Argo CD Suspended)."""
    why = f" ({reason})" if reason else ""
    return Problem(
        FROZEN,
        f"environment {environment} is frozen{why}: the change of spec.values {', '.join(changed) or '(none)'} "
        "waits for the freeze to be lifted (remove spec.freeze)",
        stalled=False,
        suspended=True,
    )


def is_head_selector(text: str | None) -> bool:
    if not text:
        return False
    try:
        return parse_selector(text).kind == "head"
    except ValueError:
        return False


def flow_missing(namespace: str, name: str) -> Problem:
    return Problem(
        "FlowNotFound",
        f"flow {name} does not exist in namespace {namespace}: check spec.defaultFlow.name "
        "(on the ApiClient or its Application), or create or promote the flow",
    )


def _named(message: str, flow: str) -> str:
    # resolve_selector speaks of "flow ..."; name the flow so the message stands alone.
    return f"flow {flow}{message[4:]}" if message.startswith("flow ") else f"flow {flow}: {message}"


def check_selector(selector_text: str, *, allow_head: bool, environment: str) -> Selector | Problem:
    """What can be refused before looking at the flow: a malformed selector, HEAD where
    the policy forbids it, uncommitted content."""
    try:
        selector = parse_selector(selector_text)
    except ValueError as exc:
        return Problem("InvalidVersion", str(exc))
    if selector.kind == "uncommitted":
        return Problem(
            "InvalidVersion",
            "uncommitted is not a version a client can use: pin a version id or number, or use HEAD",
        )
    refused = head_allowed(selector_text, allow_head, environment)
    if refused:
        return Problem("HeadNotAllowed", refused)
    return selector


def choose_version(flow: str, selector: Selector, records: Sequence[VersionRecord], head: str | None) -> VersionRecord | Problem:
    """The version record `selector` names, or the Problem to report.

    `head` is the Flow's status.latestReadyVersion: HEAD never points at a broken version.
    """
    refs = [VersionRef(r.id, r.number, r.content_hash) for r in records]  # with hashes: sha256:<hex> pins resolve
    try:
        ref = resolve_selector(selector, refs, head)
    except VersionNotFound as exc:
        if selector.kind == "head" and head is None:
            if not records:
                return Problem("NoReadyVersion", f"flow {flow} has no version yet", stalled=False)
            return Problem(
                "NoReadyVersion",
                f"flow {flow} has no version that passed guardrails (HEAD): fix the flow's content",
            )
        return Problem("VersionNotFound", _named(str(exc), flow))
    record = next(r for r in records if r.id == ref.id)
    if record.origin == "Quarantine":
        return Problem(
            "VersionNotReady",
            f"flow {flow} version {record.number} ({record.id}) is a reverted direct edit and is never served: pin another version",
        )
    if record.ready is False:
        why = f": {record.guardrails}" if record.guardrails else ""
        head_note = f" (HEAD is {head})" if head else ""
        return Problem(
            "VersionNotReady",
            f"flow {flow} version {record.number} ({record.id}) failed guardrails{why}; pin a version that passed{head_note}",
        )
    return record


WAITING_FOR_PROMOTION = "WaitingForPromotion"
# What a Promotion under way may bring; every other problem needs a person.
_MISSING = ("FlowNotFound", "VersionNotFound")


@dataclass(frozen=True)
class UnfinishedPromotion:
    """A Promotion into a binding's flow that has not Succeeded or Failed yet."""

    name: str
    phase: str = ""  # "" until the operator has seen it
    content_hash: str | None = None  # of the version it lands, when its spec fixes it


def _could_land(selector: Selector, records: Sequence[VersionRecord] | None, promotions: int, p: UnfinishedPromotion) -> bool:
    """Whether the version `p` lands may be the one `selector` names. Numbers and ids only
    grow, so a missing one at or below the newest never comes back; each Promotion lands at
    most one version. `records` None: the flow is missing, its numbering unknown (a
    retained history continues it)."""
    if selector.kind == "hash":
        return p.content_hash is None or p.content_hash == selector.value
    if records is None:
        return True
    if selector.kind == "number":
        newest = max((r.number for r in records), default=0)
        return newest < int(selector.value or 0) <= newest + promotions
    if selector.kind == "id":
        return not records or str(selector.value) > max(r.id for r in records)
    return True


def _phase(p: UnfinishedPromotion) -> str:
    return f"it is {p.phase}" if p.phase else "it has not started yet"


def awaiting_promotion(
    problem: Problem,
    flow: str,
    selector: Selector,
    records: Sequence[VersionRecord] | None,
    promotions: Sequence[UnfinishedPromotion],
) -> Problem:
    """`problem` (the flow or the version is missing) while an unfinished Promotion into the
    flow may bring it: the binding waits, naming that Promotion, instead of failing a GitOps
    sync that applied both together. Reconciling while one is under way; suspended while
    every one awaits approval, as those Promotions read. `records` None: the flow is missing."""
    if problem.reason not in _MISSING:
        return problem
    coming = sorted(
        (p for p in promotions if _could_land(selector, records, len(promotions), p)),
        key=lambda p: (p.phase == "AwaitingApproval", p.name),  # one under way first
    )
    if not coming:
        return problem
    first = coming[0]
    more = f" and {len(coming) - 1} more" if len(coming) > 1 else ""
    missing = f"flow {flow} does not exist yet" if records is None else problem.message
    suspended = first.phase == "AwaitingApproval"
    how = " (approve it: spec.approved: true)" if suspended else ""
    return Problem(
        WAITING_FOR_PROMOTION,
        f"waiting for Promotion {first.name}{more} to land flow {flow} ({_phase(first)}){how}: {missing}",
        stalled=False,
        suspended=suspended,
    )
