"""A plan for status: the first changes, long values abbreviated, the total counted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from .diff import Change

__all__ = ["summarise"]

_JSON_TYPE = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}


def _abbreviate(value: Any, max_chars: int) -> Any:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= max_chars:
        return value
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()[:8]
    return f"<{_JSON_TYPE.get(type(value), 'value')}, {len(data)} bytes, sha256:{digest}…>"


def summarise(changes: Sequence[Change], max_changes: int = 200, max_value_chars: int = 512) -> dict[str, Any]:
    """Each listed change: op, path, `from` for a move, old (not for add or move) and new (not for remove)."""
    listed = []
    for c in changes[:max_changes]:
        entry: dict[str, Any] = {"op": c.op, "path": c.path}
        if c.op == "move":
            entry["from"] = c.source
        if c.op not in ("add", "move"):
            entry["old"] = _abbreviate(c.old, max_value_chars)
        if c.op != "remove":
            entry["new"] = _abbreviate(c.new, max_value_chars)
        listed.append(entry)
    return {"total": len(changes), "truncated": len(changes) > max_changes, "changes": listed}
