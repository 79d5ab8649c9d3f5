"""What a Promotion would write: the selected changes, the resulting document, the plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import diff as diffs
from .canonical import content_hash

# Status must stay well inside one object: a plan lists at most this many changes.
PLAN_MAX_CHANGES = 100
PLAN_MAX_VALUE_CHARS = 256


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

    @property
    def empty(self) -> bool:
        return self.result_hash == self.base_hash

    def to_status(self) -> dict[str, Any]:
        summary = diffs.plan(list(self.changes), PLAN_MAX_CHANGES, PLAN_MAX_VALUE_CHARS)
        return {**summary, "contentHash": self.result_hash}


def compute(base: Any | None, source: Any, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Plan:
    """`base` is the target's HEAD document (None when the target flow does not exist)."""
    start = base if base is not None else {}
    changes = diffs.diff(start, source)
    try:
        selected = diffs.select_changes(changes, include, exclude) if (include or exclude) else changes
    except diffs.PointerMatchesNothing as exc:
        raise PromotionRejected("PointerMatchesNothing", str(exc)) from None
    except ValueError as exc:
        raise PromotionRejected("InvalidSelection", str(exc)) from None
    result = diffs.apply_changes(start, selected) if (include or exclude) else source
    return Plan(tuple(selected), result, content_hash(result), content_hash(base) if base is not None else None)


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
