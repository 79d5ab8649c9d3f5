"""Whether a Flow's current content becomes a new version, and with what record.

Decided from the content hash, never from generations: a re-apply, a metadata change or
an operator restart finds the newest version already holding this content and commits
nothing. Exactly-once follows from the same rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Origin = Literal["Commit", "Promotion", "Quarantine"]


@dataclass(frozen=True)
class VersionRecord:
    """What the operator knows of a FlowVersion from its metadata alone."""

    name: str
    id: str
    number: int
    content_hash: str
    base: str | None = None
    ready: bool | None = None
    origin: Origin = "Commit"
    commit_request: str | None = None
    promotion_uid: str | None = None
    promotion_name: str | None = None
    promotion_spec_hash: str | None = None
    rules_digest: str | None = None
    guardrails: str = ""
    generation: int | None = None  # the Flow's generation it was committed from
    field_manager: str | None = None  # Quarantine: who wrote the reverted edit
    reapplied: int = 0  # Quarantine: how often that edit came back after being reverted
    change_cause: str | None = None  # the Flow's flowops.io/change-cause when it was committed
    flow_uid: str | None = None  # the Flow object it was committed from (retained history outlives it)

    @property
    def can_be_head(self) -> bool:
        return bool(self.ready) and self.origin != "Quarantine"

    def judged_under(self, rules_digest: str) -> bool:
        """Its verdict was made under these rules: one made under others says nothing now."""
        return self.ready is not None and self.rules_digest == rules_digest


@dataclass(frozen=True)
class CommitDecision:
    commit: bool
    origin: Origin = "Commit"
    message: str = ""
    commit_request: str | None = None
    promotion: Mapping[str, Any] | None = None
    uncommitted: bool = False
    reason: str = ""
    # A protected flow changed without a Promotion: keep the edit aside and restore HEAD.
    revert: bool = False


def promotion_provenance(annotation: str | None, content_hash: str) -> Mapping[str, Any] | None:
    """The landing Promotion's record, if it was written for exactly this content."""
    if not annotation:
        return None
    try:
        record = json.loads(annotation)
    except ValueError:
        return None
    if isinstance(record, dict) and record.get("contentHash") == content_hash and record.get("uid"):
        return record
    return None


def latest_of(versions: list[VersionRecord]) -> VersionRecord | None:
    """Newest by number, ignoring quarantined copies of reverted edits."""
    committed = [v for v in versions if v.origin != "Quarantine"]
    return max(committed, key=lambda v: v.number, default=None)


def _since_latest(versions: list[VersionRecord]) -> list[VersionRecord]:
    latest = latest_of(versions)
    return [v for v in versions if v.origin == "Quarantine" and (latest is None or v.number > latest.number)]


def open_quarantine(versions: list[VersionRecord]) -> VersionRecord | None:
    """The newest quarantined edit made since the newest committed version, if any."""
    return max(_since_latest(versions), key=lambda v: v.number, default=None)


def tamper_loop(versions: list[VersionRecord]) -> str | None:
    """Why the flow is stalled by a writer that re-applies a reverted edit (None if it is not).
    It lasts until a newer version is committed (a Promotion): only a person can stop the writer."""
    looping = [v for v in _since_latest(versions) if v.reapplied >= 1]
    if not looping:
        return None
    edit = max(looping, key=lambda v: v.number)
    who = edit.field_manager or "an unknown writer"
    return (
        f"{who} keeps re-applying a direct edit of this protected flow ({edit.reapplied + 1} times; kept once as "
        f"version {edit.number}, origin Quarantine) and the operator keeps reverting it: stop that writer (e.g. remove "
        "the Flow from what it applies) and change this environment through Promotions; the next promoted version clears this"
    )


def altered_restore(restored: VersionRecord, stored_hash: str) -> str | None:
    """Why a protected flow cannot hold its HEAD's content (None if the restore stored it):
    the API server changes spec.content on every write, the operator's own included."""
    if stored_hash == restored.content_hash:
        return None
    return (
        f"restoring version {restored.number} ({restored.id}) stored other content ({stored_hash}, not "
        f"{restored.content_hash}): an admission policy or webhook on flows.flowops.io changes spec.content on every "
        f"write, so this protected flow cannot hold the content of its HEAD. Exempt Flows from that mutation; "
        f"HEAD stays version {restored.number}"
    )


def decide(
    *,
    content_hash: str,
    mode: str,
    latest: VersionRecord | None,
    change_cause: str | None,
    commit_annotation: str | None,
    promotion_annotation: str | None,
    generation: int | None = None,
    newest_generation: int | None = None,
    landed_promotions: frozenset[str] = frozenset(),
    protected: bool = False,
) -> CommitDecision:
    """`generation`: the Flow's, as this writer sees it; `newest_generation`: the highest any
    existing version was committed from; `landed_promotions`: uids of Promotions that have
    a version already; `protected`: only Promotions may change the content. Another writer (a second replica) may have committed a newer view
    of the Flow than this one: then this view is stale and commits nothing."""
    if generation is not None and newest_generation is not None and generation < newest_generation:
        return CommitDecision(commit=False, reason="Stale")
    if latest is not None and latest.content_hash == content_hash:
        return CommitDecision(commit=False, reason="UpToDate")
    promotion = promotion_provenance(promotion_annotation, content_hash)
    if promotion is not None:
        # A promotion always commits, whatever the target's mode: it is the only writer there.
        if (latest is not None and latest.promotion_uid == promotion["uid"]) or promotion["uid"] in landed_promotions:
            return CommitDecision(commit=False, reason="UpToDate")
        return CommitDecision(
            commit=True,
            origin="Promotion",
            message=str(promotion.get("comment") or ""),
            promotion=promotion,
            reason="Promoted",
        )
    if protected and latest is not None:
        # Only Promotions write a protected flow; its first version is made by one too.
        return CommitDecision(commit=False, origin="Quarantine", revert=True, reason="DirectEdit")
    if mode == "Manual" and latest is not None:
        # A new flow always gets version 1, so it has a HEAD to bind to.
        request = (commit_annotation or "").strip()
        already_handled = latest is not None and latest.commit_request == request
        if request and not already_handled:
            return CommitDecision(commit=True, message=request, commit_request=request, reason="CommitRequested")
        return CommitDecision(commit=False, uncommitted=True, reason="Uncommitted")
    return CommitDecision(commit=True, message=(change_cause or "").strip(), reason="ContentChanged")
