"""Which versions of a flow to delete when it has more than its history limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

__all__ = ["VersionMeta", "versions_to_delete"]


@dataclass(frozen=True)
class VersionMeta:
    id: str
    number: int
    base: str | None = None  # keyframe id when the version is stored as a Delta


def versions_to_delete(
    versions: Sequence[VersionMeta], history_limit: int, keep: Collection[str]
) -> list[str]:
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
