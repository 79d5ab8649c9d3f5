"""Which items of two versions of an array are the same item: the alignment a diff needs.

Items are identified by an identifying member (`id`, `name` or `key`) when every item of
both arrays is an object with a unique string or integer value there, else by value.
Items in the longest common subsequence stay; an identified item out of that order moved;
the rest were removed or inserted, except that within one gap between staying items the
leftover items of a value-identified array are paired in order (an edited item of a
list of texts is a change of that item, not a removal and an insertion).
"""

from __future__ import annotations

import bisect
import difflib
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IDENTIFYING_KEYS", "Alignment", "align", "identifying_key"]

IDENTIFYING_KEYS = ("id", "name", "key")


@dataclass
class Alignment:
    """Indices into the old and the new array; `pairs` and `moves` are (old, new)."""

    pairs: list[tuple[int, int]] = field(default_factory=list)  # in order on both sides
    moves: list[tuple[int, int]] = field(default_factory=list)  # the same item elsewhere
    removed: list[int] = field(default_factory=list)
    inserted: list[int] = field(default_factory=list)
    head: int = 0  # leading and trailing items equal on both sides (also in `pairs`)
    tail: int = 0


def _unique_key_values(items: Sequence[Any], key: str) -> bool:
    seen: set[Any] = set()
    for item in items:
        if type(item) is not dict:
            return False
        value = item.get(key)
        if type(value) not in (str, int) or value in seen:
            return False
        seen.add(value)
    return True


def identifying_key(old: Sequence[Any], new: Sequence[Any]) -> str | None:
    """The member that identifies items on both sides, if there is one."""
    if not old and not new:
        return None
    for key in IDENTIFYING_KEYS:
        if _unique_key_values(old, key) and _unique_key_values(new, key):
            return key
    return None


def _value_token(item: Any) -> Hashable:
    # Strings are the common case and their own token; anything else by its exact JSON
    # (so true, 1 and 1.0 stay different items).
    if type(item) is str:
        return item
    return ("json", json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def _lcs(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Matched (i, j) in increasing order on both sides."""
    if len(set(a)) == len(a) and len(set(b)) == len(b):
        # Unique tokens: the exact LCS is the longest increasing run of positions in b.
        where = {t: j for j, t in enumerate(b)}
        seq = [(i, where[t]) for i, t in enumerate(a) if t in where]
        tails: list[int] = []  # smallest b-position ending a run of each length
        tail_at: list[int] = []  # index into seq of that run's last element
        back = [-1] * len(seq)
        for k, (_, j) in enumerate(seq):
            n = bisect.bisect_left(tails, j)
            if n == len(tails):
                tails.append(j)
                tail_at.append(k)
            else:
                tails[n] = j
                tail_at[n] = k
            back[k] = tail_at[n - 1] if n else -1
        out: list[tuple[int, int]] = []
        k = tail_at[-1] if tail_at else -1
        while k >= 0:
            out.append(seq[k])
            k = back[k]
        out.reverse()
        return out
    # Repeated items: difflib's longest-block matching, a close and fast approximation.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [(blk.a + d, blk.b + d) for blk in matcher.get_matching_blocks() for d in range(blk.size)]


def align(old: Sequence[Any], new: Sequence[Any], same: Any) -> Alignment:
    """The alignment of `old` and `new`; `same(a, b)` is exact JSON equality."""
    result = Alignment()
    n, m = len(old), len(new)
    start = 0
    while start < n and start < m and same(old[start], new[start]):
        start += 1
    end = 0
    while end < n - start and end < m - start and same(old[n - 1 - end], new[m - 1 - end]):
        end += 1
    result.pairs.extend((i, i) for i in range(start))
    a, b = old[start : n - end], new[start : m - end]
    if a or b:
        key = identifying_key(old, new)
        if key is not None:
            ta: list[Hashable] = [item[key] for item in a]
            tb: list[Hashable] = [item[key] for item in b]
        else:
            ta, tb = [_value_token(x) for x in a], [_value_token(x) for x in b]
        kept = _lcs(ta, tb)
        kept_a = {i for i, _ in kept}
        kept_b = {j for _, j in kept}
        # The same item, found out of order: a move.
        waiting: dict[Hashable, list[int]] = {}
        for j, t in enumerate(tb):
            if j not in kept_b:
                waiting.setdefault(t, []).append(j)
        moves: list[tuple[int, int]] = []
        for i, t in enumerate(ta):
            if i not in kept_a and waiting.get(t):
                moves.append((i, waiting[t].pop(0)))
        moved_a = {i for i, _ in moves}
        moved_b = {j for _, j in moves}
        pairs: list[tuple[int, int]] = []
        removed: list[int] = []
        inserted: list[int] = []
        bounds = [(-1, -1), *kept, (len(a), len(b))]
        for (i0, j0), (i1, j1) in zip(bounds, bounds[1:]):
            gap_a = [i for i in range(i0 + 1, i1) if i not in moved_a]
            gap_b = [j for j in range(j0 + 1, j1) if j not in moved_b]
            paired = 0 if key is not None else min(len(gap_a), len(gap_b))
            pairs.extend(zip(gap_a[:paired], gap_b[:paired]))
            removed.extend(gap_a[paired:])
            inserted.extend(gap_b[paired:])
            if i1 < len(a):
                pairs.append((i1, j1))
        result.pairs.extend((i + start, j + start) for i, j in pairs)
        result.moves = [(i + start, j + start) for i, j in moves]
        result.removed = [i + start for i in removed]
        result.inserted = [j + start for j in inserted]
    result.pairs.extend((n - end + k, m - end + k) for k in range(end))
    result.head, result.tail = start, end
    return result
