"""Which versions of a flow, and which finished Promotions, to delete beyond their history limits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

__all__ = ["FinishedPromotion", "VersionMeta", "promotions_to_delete", "versions_to_delete"]


@dataclass(frozen=True)
class VersionMeta:
    id: str
    number: int
    base: str | None = None  # keyframe id when the version is stored as a Delta


def versions_to_delete(versions: Sequence[VersionMeta], history_limit: int, keep: Collection[str]) -> list[str]:
    """Ids to delete, oldest first.

    Kept: the newest `history_limit` versions by number, every id in `keep` (HEAD,
    pinned, used by a running Promotion), the newest version whatever the limit, and
    every keyframe a kept Delta needs (else the kept version could not be read).
    """
    if history_limit < 1:
        raise ValueError(f"history limit must be at least 1, not {history_limit}")
    ordered = sorted(versions, key=lambda v: v.number)
    if not ordered:
        return []
    kept = {v.id for v in ordered[-history_limit:]}
    kept.update(v.id for v in ordered if v.id in keep)
    by_id = {v.id: v for v in ordered}
    # Deltas are always against a Full keyframe, so one step resolves every dependency.
    for vid in list(kept):
        base = by_id[vid].base
        if base is not None and base in by_id:
            kept.add(base)
    return [v.id for v in ordered if v.id not in kept]


@dataclass(frozen=True)
class FinishedPromotion:
    name: str
    completed: str  # RFC 3339 (sorts by time); creation time when completedAt is missing
    tracked: bool = False  # Flux or Argo CD tracks it: git owns it, never deleted here


def promotions_to_delete(finished: Sequence[FinishedPromotion], history_limit: int) -> list[str]:
    """Names of the finished Promotions of one target flow beyond the newest `history_limit`,
    oldest first. Tracked ones are never deleted and do not count against the limit."""
    if history_limit < 1:
        raise ValueError(f"promotion history limit must be at least 1, not {history_limit}")
    ours = sorted((p for p in finished if not p.tracked), key=lambda p: (p.completed, p.name))
    return [p.name for p in ours[: max(0, len(ours) - history_limit)]]
