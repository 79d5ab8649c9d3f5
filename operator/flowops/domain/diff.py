"""Structural differences between JSON documents, as JSON Patch (RFC 6902) operations.

Used for promotion plans, partial promotion, "out of sync by N paths" and the Delta
storage of versions. Deterministic: the same two documents always give the same changes
in the same order. Applied in order, the changes turn the old document into the new one
(`patch.apply_changes`, or any JSON Patch tool via `patch.to_ops`).

Objects are compared member by member (keys sorted). Arrays are aligned item by item
(`arrays.align`): an inserted, removed or moved item is one change, an item present on
both sides is compared inside. For each array the changes come as: removals (highest
old index first, so each names the item's index in the old array), moves, then in the
new array's order the insertions and the changes inside items (each at the item's index
in the new array).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from . import arrays
from .pointer import escape_token

__all__ = ["MISSING", "Change", "changed_paths_count", "diff", "json_equal"]


class _Missing:
    """Marks "no value here" (absent key, no old value of an add), distinct from JSON null."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"  # copy/pickle keep the singleton


MISSING: Any = _Missing()

Op = Literal["add", "remove", "replace", "move"]


@dataclass(frozen=True)
class Change:
    """One difference: `old` is MISSING for add, `new` is MISSING for remove.

    A move takes the item at `source` (a JSON Pointer, RFC 6902 "from") to `path`; its
    `old` and `new` are the item, unchanged (changes inside it follow as their own).
    """

    op: Op
    path: str
    old: Any = MISSING
    new: Any = MISSING
    source: str | None = None


_SCALARS = (str, int, float, bool, type(None))


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: unlike ==, true != 1 and 1 != 1.0 (their canonical JSON differs)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        if len(a) != len(b):
            return False
        get = b.get
        for key, x in a.items():
            y = get(key, MISSING)
            if x is y:
                continue
            if type(x) is str:
                if type(y) is not str or x != y:
                    return False
            elif not json_equal(x, y):
                return False
        return True
    if kind is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """Changes that turn `old` into `new` (see the module for their order)."""
    out: list[Change] = []
    _diff(old, new, path, out)
    return out


def changed_paths_count(old: Any, new: Any) -> int:
    """How many changes a full promotion from `old` to `new` would show."""
    return len(diff(old, new))


def _diff(old: Any, new: Any, path: str, out: list[Change]) -> None:
    if old is new:
        return
    if old is MISSING:
        if new is not MISSING:
            out.append(Change("add", path, new=new))
        return
    if new is MISSING:
        out.append(Change("remove", path, old=old))
        return
    kind = type(old)
    if kind is not type(new):
        out.append(Change("replace", path, old=old, new=new))
    elif kind is dict:
        _diff_object(old, new, path, out)
    elif kind is list:
        _diff_array(old, new, path, out)
    elif old != new:
        out.append(Change("replace", path, old=old, new=new))


def _diff_object(old: dict[str, Any], new: dict[str, Any], path: str, out: list[Change]) -> None:
    get_old, get_new = old.get, new.get
    keys = old.keys() | new.keys() if old.keys() != new.keys() else old.keys()
    for key in sorted(keys):
        a, b = get_old(key, MISSING), get_new(key, MISSING)
        if a is b:
            continue
        kind = type(a)
        # Most members are texts or numbers: compare them here, no call, no path string.
        if kind is type(b) and kind in _SCALARS:
            if a != b:
                out.append(Change("replace", path + "/" + escape_token(key), old=a, new=b))
            continue
        _diff(a, b, path + "/" + escape_token(key), out)


def _diff_array(old: list[Any], new: list[Any], path: str, out: list[Change]) -> None:
    if len(old) == len(new) and all(a is b for a, b in zip(old, new)):
        return
    al = arrays.align(old, new, json_equal)
    for i in sorted(al.removed, reverse=True):
        out.append(Change("remove", f"{path}/{i}", old=old[i]))
    if al.moves:
        _moves(old, new, al, path, out)
    # In new order, an insertion or the changes inside an item: every earlier place is
    # final by then, so each index is the item's index in the new array.
    old_of_new = dict((j, i) for i, j in al.pairs)
    old_of_new.update((j, i) for i, j in al.moves)
    for j in range(al.head, len(new) - al.tail):  # the head and tail are equal already
        b = new[j]
        source = old_of_new.get(j)
        if source is None:
            out.append(Change("add", f"{path}/{j}", new=b))
        else:
            a = old[source]
            if a is not b:
                _diff(a, b, f"{path}/{j}", out)


def _moves(old: list[Any], new: list[Any], al: arrays.Alignment, path: str, out: list[Change]) -> None:
    """One move per moved item, each placed right after the item before it in the new
    array, following the new order; the indices are those at the time of the move."""
    removed = set(al.removed)
    work = [i for i in range(len(old)) if i not in removed]  # old indices, current order
    old_of_new = {j: i for i, j in [*al.pairs, *al.moves]}
    moved_new = {j for _, j in al.moves}
    before = -1  # old index of the last item placed, in new order (-1: the start)
    for j in range(len(new)):
        i = old_of_new.get(j)
        if i is None:
            continue  # inserted later
        if j in moved_new:
            p = work.index(i)
            q = work.index(before) if before >= 0 else -1
            target = q + 1 if p > q else q
            if target != p:
                del work[p]
                work.insert(target, i)
                out.append(Change("move", f"{path}/{target}", old=old[i], new=old[i], source=f"{path}/{p}"))
        before = i
