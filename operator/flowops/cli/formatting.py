"""Turning values into the short text a table cell or a change line shows (pure)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.text import Text

from ..domain.diff import MISSING, Change

ARROW = "→"


def parse_time(stamp: str | None) -> dt.datetime | None:
    if not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def age(stamp: str | None, now: dt.datetime) -> str:
    """kubectl's human duration: 45s, 3m12s, 17m, 2h5m, 30h, 3d4h, 40d, 2y."""
    when = parse_time(stamp)
    if when is None:
        return "-"
    seconds = max(0, int((now - when).total_seconds()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


# How the operator abbreviates long values in a Promotion's plan: shown as is, not as a string.
_ABBREVIATED = re.compile(r"^<[a-z]+, \d+ bytes, sha256:[0-9a-f]+…>$")


def short_value(value: Any, limit: int = 80) -> str:
    """A value on one line; long ones cut with their full size, so nothing looks complete that is not."""
    if isinstance(value, str) and _ABBREVIATED.match(value):
        return value
    text = compact_json(value)
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 1, 1)]}… ({len(text.encode())} bytes)"


def change_dict(change: Change) -> dict[str, Any]:
    """A change as machines read it: old is absent for add, new is absent for remove."""
    out: dict[str, Any] = {"op": change.op, "path": change.path}
    if change.op == "move":
        out["from"] = change.source
    if change.old is not MISSING:
        out["old"] = change.old
    if change.new is not MISSING:
        out["new"] = change.new
    return out


_MARKS = {"add": ("+", "green"), "remove": ("-", "red"), "replace": ("~", "yellow"), "move": (">", "cyan")}


def change_line(change: Mapping[str, Any], limit: int = 80) -> Text:
    """One change as `~ /path  old → new`, `+ /path  new`, `- /path  old` or `> /path  from /from`."""
    op = str(change.get("op"))
    mark, style = _MARKS.get(op, ("?", ""))
    line = Text()
    line.append(f"{mark} ", style=style)
    line.append(str(change.get("path") or "/"), style="bold")
    if op == "replace":
        line.append("  ")
        line.append(short_value(change.get("old"), limit), style="red")
        line.append(f" {ARROW} ")
        line.append(short_value(change.get("new"), limit), style="green")
    elif op == "add":
        line.append("  ")
        line.append(short_value(change.get("new"), limit), style="green")
    elif op == "remove":
        line.append("  ")
        line.append(short_value(change.get("old"), limit), style="red")
    elif op == "move":
        line.append(f"  from {change.get('from')}")
    return line


def count_ops(changes: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"add": 0, "remove": 0, "replace": 0}
    for change in changes:
        op = str(change.get("op"))
        counts[op] = counts.get(op, 0) + 1
    return counts


def describe_counts(total: int, counts: Mapping[str, int]) -> str:
    if total == 0:
        return "no differences"
    parts = [
        f"{counts.get(op, 0)} {word}"
        for op, word in (("add", "added"), ("remove", "removed"), ("replace", "changed"), ("move", "moved"))
        if counts.get(op)
    ]
    noun = "path differs" if total == 1 else "paths differ"
    return f"{total} {noun}: " + ", ".join(parts)


def stat_rows(changes: Sequence[Mapping[str, Any]], depth: int = 2) -> list[tuple[str, dict[str, int]]]:
    """Changes grouped by their first `depth` pointer tokens, in order of first appearance."""
    groups: dict[str, dict[str, int]] = {}
    for change in changes:
        path = str(change.get("path") or "")
        prefix = "/".join(path.split("/")[: depth + 1]) or "/"
        counts = groups.setdefault(prefix, {"add": 0, "remove": 0, "replace": 0})
        op = str(change.get("op"))
        counts[op] = counts.get(op, 0) + 1
    return list(groups.items())


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
