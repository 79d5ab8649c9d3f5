"""Partial promotion: the part of the difference that include/exclude pointers select.

A pointer selects the part of the document at or below it. Array items are named by
their index in the new (source) document, and a removed item by its index in the old
(target) one: the indices a plan shows. Selecting part of an array keeps the rest as it
was: an unselected insertion is not made, an unselected removal keeps the item, an
unselected move leaves the item where it was; a selected item is placed after the item
that precedes it in the new array. The result is expressed again as a plain diff, so
the plan shows exactly what will be written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import arrays
from .diff import MISSING, Change, diff, json_equal
from .pointer import split_pointer

__all__ = ["PointerMatchesNothing", "select"]

Tokens = list[str]


class PointerMatchesNothing(ValueError):
    """An include/exclude pointer selects none of the differences: almost always a typo."""

    def __init__(self, pointer: str, available: Sequence[str], setting: str = "changes.include"):
        self.pointer = pointer
        self.available = list(available)
        self.setting = setting
        shown = ", ".join(self.available[:10]) if self.available else "(none: the documents are equal)"
        more = f" (and {len(self.available) - 10} more)" if len(self.available) > 10 else ""
        super().__init__(f"{setting} pointer {pointer} matches no change; paths that differ: {shown}{more}")


def select(old: Any, new: Any, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> tuple[list[Change], Any]:
    """(the selected changes, the document they make from `old`).

    Without pointers that is the whole difference and `new`. Every pointer must select
    something, else PointerMatchesNothing lists the paths that differ.
    """
    changes = diff(old, new)
    if not include and not exclude:
        return changes, new
    inc = [split_pointer(p) for p in include]
    exc = [split_pointer(p) for p in exclude]
    for setting, texts, pointers in (("changes.include", include, inc), ("changes.exclude", exclude, exc)):
        for text, tokens in zip(texts, pointers):
            alone = _pick(old, new, [tokens], [], False) if setting == "changes.include" else _pick(old, new, [], [tokens], True)
            if json_equal(alone, old if setting == "changes.include" else new):
                raise PointerMatchesNothing(text, [c.path for c in changes], setting)
    result = _pick(old, new, inc, exc, not inc)
    if result is MISSING:  # only when old was MISSING, which select never gets
        result = old
    return diff(old, result), result


def _pick(old: Any, new: Any, inc: list[Tokens], exc: list[Tokens], included: bool) -> Any:
    """The value at one place of the result. `inc`/`exc` are the pointers still below
    this place (relative to it); `included` says whether an include covers it."""
    if any(not t for t in exc):
        return old
    if any(not t for t in inc):
        included, inc = True, []
    if included:
        inc = []
    if not inc and not exc:
        return new if included else old
    if old is new:
        return old
    if isinstance(old, dict) or isinstance(new, dict):
        if old is MISSING or new is MISSING or (isinstance(old, dict) and isinstance(new, dict)):
            return _pick_object(old, new, inc, exc, included)
    if isinstance(old, list) or isinstance(new, list):
        if old is MISSING or new is MISSING or (isinstance(old, list) and isinstance(new, list)):
            return _pick_array(old, new, inc, exc, included)
    # A scalar, or a value whose type changes: it is taken whole or not at all.
    return new if included else old


def _below(pointers: list[Tokens]) -> dict[str, list[Tokens]]:
    groups: dict[str, list[Tokens]] = {}
    for tokens in pointers:
        groups.setdefault(tokens[0], []).append(tokens[1:])
    return groups


def _pick_object(old: Any, new: Any, inc: list[Tokens], exc: list[Tokens], included: bool) -> Any:
    o = old if isinstance(old, dict) else {}
    n = new if isinstance(new, dict) else {}
    inc_at, exc_at = _below(inc), _below(exc)
    base = n if included else o
    result = dict(base)
    for key in inc_at.keys() | exc_at.keys():
        value = _pick(o.get(key, MISSING), n.get(key, MISSING), inc_at.get(key, []), exc_at.get(key, []), included)
        if value is MISSING:
            result.pop(key, None)
        else:
            result[key] = value
    if old is MISSING and not result and not included:
        return MISSING
    return result


def _pick_array(old: Any, new: Any, inc: list[Tokens], exc: list[Tokens], included: bool) -> Any:
    o = old if isinstance(old, list) else []
    n = new if isinstance(new, list) else []
    inc_at, exc_at = _below(inc), _below(exc)

    def at(index: int, a: Any, b: Any) -> Any:
        key = str(index)
        return _pick(a, b, inc_at.get(key, []), exc_at.get(key, []), included)

    def whole(index: int) -> bool:
        key = str(index)
        if any(not t for t in exc_at.get(key, [])):
            return False
        return included or any(not t for t in inc_at.get(key, []))

    al = arrays.align(o, n, json_equal)
    new_of_old = {i: j for i, j in al.pairs}
    moved_to = {i: j for i, j in al.moves}
    removed = set(al.removed)
    # Slots in old order: [new index, value]; None for an item not at its place in the new array.
    slots: list[list[Any]] = []
    placed_later: dict[int, Any] = {}
    for i, item in enumerate(o):
        if i in removed:
            value = at(i, item, MISSING)
            if value is not MISSING:
                slots.append([None, value])
        elif i in new_of_old:
            j = new_of_old[i]
            slots.append([j, at(j, item, n[j])])
        else:
            j = moved_to[i]
            value = at(j, item, n[j])
            if whole(j):
                placed_later[j] = value
            else:  # stays where it was: no place to put others after
                slots.append([None, value])
    for j in al.inserted:
        value = at(j, MISSING, n[j])
        if value is not MISSING:
            placed_later[j] = value
    for j in sorted(placed_later):
        # After the nearest item before it in the new array that the result has.
        position, before = 0, -1
        for k, slot in enumerate(slots):
            if slot[0] is not None and before < slot[0] < j:
                position, before = k + 1, slot[0]
        slots.insert(position, [j, placed_later[j]])
    result = [value for _, value in slots]
    if old is MISSING and not result and not included:
        return MISSING
    return result
