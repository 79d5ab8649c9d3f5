"""A write made only onto an object as it was read, in the parts that matter: a JSON Patch
(RFC 6902) whose `test` operations hold those parts' values as read, then the changes (pure).

A `test` of a member that does not exist fails (RFC 6902 has no test for absence), so a
part absent as read is held by its nearest ancestor that existed, tested whole: it still
exists and nothing was added to it. A part whose only such ancestor is the whole object
cannot be held that way (its resourceVersion has moved): `tests_as_read` says so with None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .mergepatch import apply_merge_patch
from .pointer import child, join_pointer, split_pointer

__all__ = ["merge_ops", "tests_as_read"]

_ABSENT = object()


def _at(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(doc, Mapping) and token in doc:
            doc = doc[token]
        elif isinstance(doc, list) and token.isdigit() and int(token) < len(doc):
            doc = doc[int(token)]
        else:
            return _ABSENT
    return doc


def tests_as_read(doc: Mapping[str, Any], pointers: Iterable[str]) -> list[dict[str, Any]] | None:
    """`test` operations that pass only while each of `pointers` holds its value in `doc`
    (absent ones: while their nearest existing ancestor is as in `doc`). None if some
    pointer has no ancestor in `doc` but the document itself."""
    ops: dict[str, dict[str, Any]] = {}
    for pointer in pointers:
        tokens = split_pointer(pointer)
        while tokens and (value := _at(doc, tokens)) is _ABSENT:
            tokens = tokens[:-1]
        if not tokens:
            return None
        path = join_pointer(tokens)
        ops[path] = {"op": "test", "path": path, "value": value}
    return list(ops.values())


def merge_ops(doc: Mapping[str, Any], base: str, changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`changes`, a merge patch (RFC 7386) of the object at `base`, as JSON Patch operations
    on its members: each becomes what merging it into `doc`'s value would make it, and a
    null removes it whether or not it exists (added as null, then removed). `base` must exist
    where the operations are applied."""
    as_read = _at(doc, split_pointer(base))
    as_read = as_read if isinstance(as_read, Mapping) else {}
    ops: list[dict[str, Any]] = []
    for key, value in changes.items():
        path = child(base, key)
        if value is None:
            ops += [{"op": "add", "path": path, "value": None}, {"op": "remove", "path": path}]
        else:
            ops.append({"op": "add", "path": path, "value": apply_merge_patch(as_read.get(key), value)})
    return ops
