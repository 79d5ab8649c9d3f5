"""Structural differences between JSON documents, addressed by JSON Pointer (RFC 6901).

Used for promotion plans, partial promotion (include/exclude), "out of sync by N paths"
and the Delta storage of versions. The format is ours and deterministic: the same two
documents always give the same changes in the same order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Sequence

__all__ = [
    "MISSING",
    "Change",
    "PointerMatchesNothing",
    "apply_changes",
    "changed_paths_count",
    "diff",
    "escape_token",
    "join_pointer",
    "plan",
    "select_changes",
    "split_pointer",
    "unescape_token",
]


class _Missing:
    """Marks "no value here" (absent key, no old value of an add), distinct from JSON null."""

    _instance: "_Missing | None" = None

    def __new__(cls) -> "_Missing":
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

Op = Literal["add", "remove", "replace"]


@dataclass(frozen=True)
class Change:
    """One difference: `old` is MISSING for add, `new` is MISSING for remove."""

    op: Op
    path: str
    old: Any = MISSING
    new: Any = MISSING


# --- JSON Pointer (RFC 6901) -------------------------------------------------------------


def escape_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    if "~" in token:
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise ValueError(f"invalid JSON Pointer token {token!r}: '~' must be followed by 0 or 1")
        # ~1 first would turn "~01" into "/" instead of "~1" (RFC 6901 section 4).
        token = token.replace("~1", "/").replace("~0", "~")
    return token


def join_pointer(tokens: Iterable[str | int]) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def split_pointer(ptr: str) -> list[str]:
    """"" is the whole document; "/" is the key "" (not the root)."""
    if ptr == "":
        return []
    if not isinstance(ptr, str) or not ptr.startswith("/"):
        raise ValueError(f"invalid JSON Pointer {ptr!r}: must be empty or start with '/'")
    return [unescape_token(t) for t in ptr[1:].split("/")]


# --- strict JSON equality ----------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """JSON equality: unlike ==, true != 1 and 1 != 1.0 (their canonical JSON differs)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


# --- diff ---------------------------------------------------------------------------------


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """Changes that turn `old` into `new`, in traversal order (keys sorted).

    Dicts are compared key by key; lists element by element when their lengths match,
    else replaced whole (index shifts make element-wise changes misleading).
    """
    out: list[Change] = []
    _diff(old, new, path, out)
    return out


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
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            _diff(old.get(key, MISSING), new.get(key, MISSING), path + "/" + escape_token(key), out)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            _diff(a, b, f"{path}/{i}", out)
        return
    if not _same(old, new):
        out.append(Change("replace", path, old=old, new=new))


def changed_paths_count(old: Any, new: Any) -> int:
    """How many changes a full promotion from `old` to `new` would show."""
    return len(diff(old, new))


# --- apply ----------------------------------------------------------------------------------


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
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def apply_changes(doc: Any, changes: Iterable[Change]) -> Any:
    """Return `doc` with `changes` applied; ValueError naming the path of one that does not apply.

    `doc` is never mutated. Only containers along changed paths are copied; everything
    else (and the inserted values) is shared with `doc` and `changes`, so treat the
    result as read-only or deep-copy it before mutating.
    """
    # Containers created here, by id: each is copied once however many changes touch it.
    # Holding them keeps their ids from being reused during this call.
    owned: dict[int, Any] = {}

    def own(container: Any) -> Any:
        if id(container) in owned:
            return container
        copy = dict(container) if isinstance(container, dict) else list(container)
        owned[id(copy)] = copy
        return copy

    root = doc
    for ch in changes:
        op, path = ch.op, ch.path
        if op not in ("add", "remove", "replace"):
            raise ValueError(f"cannot apply {op!r} at {path}: op must be add, remove or replace")
        if op != "remove" and ch.new is MISSING:
            raise ValueError(f"cannot {op} {path}: the change has no new value")
        tokens = split_pointer(path)
        if not tokens:
            if op == "remove":
                raise ValueError("cannot remove the whole document (path \"\")")
            root = ch.new
            continue
        if not isinstance(root, (dict, list)):
            raise ValueError(f"cannot {op} {path}: the document is {_kind(root)}, not an object or array")
        root = own(root)
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
            child = own(child)
            parent[key] = child
            parent = child
        last = tokens[-1]
        if isinstance(parent, dict):
            exists = last in parent
            if op == "add" and exists:
                raise ValueError(f"cannot add {path}: it already exists")
            if op != "add" and not exists:
                raise ValueError(f"cannot {op} {path}: it does not exist")
            if op == "remove":
                del parent[last]
            else:
                parent[last] = ch.new
        else:  # list; RFC 6902 semantics: add inserts, remove shifts
            i = _index(last, len(parent), path, op, for_add=(op == "add"))
            if op == "add":
                parent.insert(i, ch.new)
            elif op == "remove":
                del parent[i]
            else:
                parent[i] = ch.new
    return root


# --- partial promotion -------------------------------------------------------------------------


class PointerMatchesNothing(ValueError):
    """An include/exclude pointer selects none of the differences: almost always a typo."""

    def __init__(self, pointer: str, available: Sequence[str], setting: str = "changes.include"):
        self.pointer = pointer
        self.available = list(available)
        self.setting = setting
        shown = ", ".join(self.available[:10]) if self.available else "(none: the documents are equal)"
        more = f" (and {len(self.available) - 10} more)" if len(self.available) > 10 else ""
        super().__init__(f"{setting} pointer {pointer} matches no change; paths that differ: {shown}{more}")


def _child(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        return value.get(token, MISSING)
    if isinstance(value, list) and token.isdigit() and (token == "0" or token[0] != "0"):
        i = int(token)
        return value[i] if i < len(value) else MISSING
    return MISSING


def _get(value: Any, tokens: Sequence[str]) -> Any:
    for token in tokens:
        value = _child(value, token)
        if value is MISSING:
            break
    return value


def _graft(base: Any, tokens: Sequence[str], donor: Any, where: str) -> Any:
    """`base` with the sub-part at `tokens` taken from `donor` (removed if donor lacks it).

    Missing containers on the way are created with the donor's type, so a part of a newly
    added object can be promoted on its own.
    """
    if not tokens:
        return donor
    token, rest = tokens[0], tokens[1:]
    b, d = _child(base, token), _child(donor, token)
    if b is MISSING and d is MISSING:
        return base
    value = _graft(b, rest, d, where)
    if b is not MISSING:
        container = dict(base) if isinstance(base, dict) else list(base)
    elif isinstance(base, type(donor)):
        container = dict(base) if isinstance(base, dict) else list(base)
    else:
        container = {} if isinstance(donor, dict) else []
    if isinstance(container, dict):
        if value is MISSING:
            container.pop(token, None)
        else:
            container[token] = value
        return container
    i = int(token)
    if value is MISSING:
        del container[i]
    elif i < len(container):
        container[i] = value
    elif i == len(container):
        container.append(value)
    else:
        raise ValueError(
            f"cannot take {where} on its own: the array it is in has only {len(container)} "
            f"items on the other side; select the whole array instead"
        )
    return container


def _relation(pointer: list[str], path: list[str]) -> str:
    """"covers" if pointer is at/above path, "below" if strictly below it, else "apart"."""
    if len(pointer) <= len(path):
        return "covers" if path[: len(pointer)] == pointer else "apart"
    return "below" if pointer[: len(path)] == path else "apart"


def _sort_key(tokens: list[str]) -> tuple:
    # Deepest and highest index first, so removing array items never shifts a later one.
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in tokens)


def select_changes(
    changes: Sequence[Change], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[Change]:
    """The part of `changes` that the include/exclude pointers select.

    A pointer selects a change at or below it. A pointer below a coarser change (a whole
    array replaced, an object added) narrows that change to the sub-part; an exclude
    below a change keeps the old sub-value. Every pointer must select something, else
    PointerMatchesNothing lists the paths that differ.
    """
    paths = [c.path for c in changes]
    split_paths = [split_pointer(p) for p in paths]
    inc = [(p, split_pointer(p)) for p in include]
    exc = [(p, split_pointer(p)) for p in exclude]

    def matches(tokens: list[str], i: int) -> bool:
        rel = _relation(tokens, split_paths[i])
        if rel == "covers":
            return True
        if rel == "below":
            sub = tokens[len(split_paths[i]):]
            c = changes[i]
            return not _same(_get(c.old, sub), _get(c.new, sub))
        return False

    for setting, pointers in (("changes.include", inc), ("changes.exclude", exc)):
        for text, tokens in pointers:
            if not any(matches(tokens, i) for i in range(len(changes))):
                raise PointerMatchesNothing(text, paths, setting)

    out: list[Change] = []
    for i, c in enumerate(changes):
        path = split_paths[i]
        if any(_relation(t, path) == "covers" for _, t in exc):
            continue
        narrow_inc = [t[len(path):] for _, t in inc if _relation(t, path) == "below"]
        narrow_exc = [t[len(path):] for _, t in exc if _relation(t, path) == "below"]
        whole = not inc or any(_relation(t, path) == "covers" for _, t in inc)
        if whole and not narrow_exc:
            out.append(c)
            continue
        if not whole and not narrow_inc:
            continue
        new = c.new
        if not whole:
            new = c.old
            for sub in sorted(narrow_inc, key=_sort_key, reverse=True):
                new = _graft(new, sub, c.new, join_pointer(path + sub))
        for sub in sorted(narrow_exc, key=_sort_key, reverse=True):
            new = _graft(new, sub, c.old, join_pointer(path + sub))
        # Re-diff so the result is expressed at the finest paths (what the plan shows).
        out.extend(diff(c.old, new, c.path))
    return out


# --- plan ---------------------------------------------------------------------------------------


_JSON_TYPE = {dict: "object", list: "array", str: "string", bool: "boolean",
              int: "number", float: "number", type(None): "null"}


def _abbreviate(value: Any, max_chars: int) -> Any:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= max_chars:
        return value
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()[:8]
    return f"<{_JSON_TYPE.get(type(value), 'value')}, {len(data)} bytes, sha256:{digest}…>"


def plan(changes: Sequence[Change], max_changes: int = 200, max_value_chars: int = 512) -> dict:
    """A promotion plan for status: the first `max_changes` changes, long values abbreviated."""
    listed = []
    for c in changes[:max_changes]:
        entry: dict[str, Any] = {"op": c.op, "path": c.path}
        if c.op != "add":
            entry["old"] = _abbreviate(c.old, max_value_chars)
        if c.op != "remove":
            entry["new"] = _abbreviate(c.new, max_value_chars)
        listed.append(entry)
    return {"total": len(changes), "truncated": len(changes) > max_changes, "changes": listed}
