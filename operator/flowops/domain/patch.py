"""Applying changes (a JSON Patch, RFC 6902) to a document, sharing what they do not touch.

Our own applier rather than the `jsonpatch` library's: it copies only the containers
along changed paths (the library deep-copies the whole document, which costs more than
the patch for a delta of a large flow) and its errors name the path that does not apply.
The operations are standard; tests check that `jsonpatch` applies them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .diff import MISSING, Change
from .pointer import join_pointer, split_pointer

__all__ = ["apply_changes", "from_ops", "to_ops"]

_OPS = ("add", "remove", "replace", "move")


def to_ops(changes: Iterable[Change]) -> list[dict[str, Any]]:
    """The changes as JSON Patch operations."""
    ops: list[dict[str, Any]] = []
    for c in changes:
        if c.op == "remove":
            ops.append({"op": "remove", "path": c.path})
        elif c.op == "move":
            ops.append({"op": "move", "from": c.source, "path": c.path})
        else:
            ops.append({"op": c.op, "path": c.path, "value": c.new})
    return ops


def from_ops(ops: Any) -> list[Change]:
    """JSON Patch operations (as `to_ops` writes them) as changes; ValueError if malformed."""
    if not isinstance(ops, list):
        raise ValueError("expected a list of JSON Patch operations")
    try:
        return [Change(o["op"], o["path"], new=o.get("value", MISSING), source=o.get("from")) for o in ops]
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"bad JSON Patch operation ({exc})") from None


def _index(token: str, size: int, path: str, op: str, *, for_add: bool = False) -> int:
    if for_add and token == "-":
        return size
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise ValueError(f"cannot {op} {path}: {token!r} is not an array index")
    i = int(token)
    if i > size or (i == size and not for_add):
        raise ValueError(f"cannot {op} {path}: index {i} is out of range (the array has {size} items)")
    return i


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class _Copier:
    """Copies each container on a changed path once, however many changes touch it."""

    def __init__(self) -> None:
        # Holding the copies keeps their ids from being reused during one apply.
        self.owned: dict[int, Any] = {}

    def own(self, container: Any) -> Any:
        if id(container) in self.owned:
            return container
        copy = dict(container) if isinstance(container, dict) else list(container)
        self.owned[id(copy)] = copy
        return copy


def _parent(root: Any, tokens: list[str], path: str, op: str, copier: _Copier) -> Any:
    """The (owned) container holding the last token; `root` must already be owned."""
    parent = root
    for depth, token in enumerate(tokens[:-1]):
        here = join_pointer(tokens[: depth + 1])
        if isinstance(parent, dict):
            if token not in parent:
                raise ValueError(f"cannot {op} {path}: {here} does not exist")
            key: Any = token
        elif isinstance(parent, list):
            key = _index(token, len(parent), path, op)
        else:
            raise ValueError(f"cannot {op} {path}: {join_pointer(tokens[:depth])} is {_kind(parent)}")
        child = parent[key]
        if not isinstance(child, (dict, list)):
            raise ValueError(f"cannot {op} {path}: {here} is {_kind(child)}, not an object or array")
        child = copier.own(child)
        parent[key] = child
        parent = child
    return parent


def _take(parent: Any, last: str, path: str, op: str) -> Any:
    if isinstance(parent, dict):
        if last not in parent:
            raise ValueError(f"cannot {op} {path}: it does not exist")
        return parent.pop(last)
    return parent.pop(_index(last, len(parent), path, op))


def _put(parent: Any, last: str, value: Any, path: str, op: str) -> None:
    if isinstance(parent, dict):
        exists = last in parent
        if op == "add" and exists:
            raise ValueError(f"cannot add {path}: it already exists")
        if op == "replace" and not exists:
            raise ValueError(f"cannot replace {path}: it does not exist")
        parent[last] = value
    elif op == "replace":
        parent[_index(last, len(parent), path, op)] = value
    else:  # add and the second half of move insert (RFC 6902)
        parent.insert(_index(last, len(parent), path, op, for_add=True), value)


def apply_changes(doc: Any, changes: Iterable[Change]) -> Any:
    """Return `doc` with `changes` applied; ValueError naming the path of one that does not apply.

    `doc` is never mutated. Only containers along changed paths are copied; everything
    else (and the inserted values) is shared with `doc` and `changes`, so treat the
    result as read-only or deep-copy it before mutating.
    """
    copier = _Copier()
    root = doc
    for ch in changes:
        op, path = ch.op, ch.path
        if op not in _OPS:
            raise ValueError(f"cannot apply {op!r} at {path}: op must be one of {', '.join(_OPS)}")
        if op in ("add", "replace") and ch.new is MISSING:
            raise ValueError(f"cannot {op} {path}: the change has no new value")
        tokens = split_pointer(path)
        if op == "move":
            if ch.source is None:
                raise ValueError(f"cannot move to {path}: the change has no source (from)")
            source = split_pointer(ch.source)
            if not source or source == tokens[: len(source)]:
                raise ValueError(f"cannot move {ch.source} to {path}: a value cannot move into itself")
            if not isinstance(root, (dict, list)):
                raise ValueError(f"cannot move {ch.source}: the document is {_kind(root)}")
            root = copier.own(root)
            value = _take(_parent(root, source, ch.source, op, copier), source[-1], ch.source, op)
            if not tokens:
                root = value
                continue
            _put(_parent(root, tokens, path, op, copier), tokens[-1], value, path, "add")
            continue
        if not tokens:
            if op == "remove":
                raise ValueError('cannot remove the whole document (path "")')
            root = ch.new
            continue
        if not isinstance(root, (dict, list)):
            raise ValueError(f"cannot {op} {path}: the document is {_kind(root)}, not an object or array")
        root = copier.own(root)
        parent = _parent(root, tokens, path, op, copier)
        if op == "remove":
            _take(parent, tokens[-1], path, op)
        else:
            _put(parent, tokens[-1], ch.new, path, op)
    return root
