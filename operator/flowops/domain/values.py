"""Per-environment values and environment-owned parts of a flow document (pure).

A document references a value of its environment with `$(values.NAME)` inside any JSON
string (the form of Kubernetes' `$(VAR)` expansion; it has no braces, so it is never
mistaken for an ICU MessageFormat placeholder such as `{name}`). In a run of `$` right
before `(values.`, each `$$` writes one `$` and an odd `$` left over starts a reference:
`$$(values.` writes a literal `$(values.`, `$$$(values.a)` a `$` and the value of a. `$`
anywhere else is left as it is. Documents are stored, promoted, diffed and compared with their
references; `render` replaces them where a document leaves flowops.

An Environment may also name JSON Pointers (`*` matches any one member) whose content
it owns: `preserve` keeps the target's content there whatever a promotion brings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import diff as diffs
from .canonical import canonical_json
from .pointer import child as child_pointer
from .pointer import join_pointer, split_pointer

__all__ = [
    "MAX_VALUES",
    "MAX_VALUE_LENGTH",
    "NAME_PATTERN",
    "Kept",
    "Preserved",
    "Scan",
    "Unrenderable",
    "changed_names",
    "defined_names",
    "digests",
    "growth",
    "has_references",
    "kept_status",
    "missing_message",
    "preserve",
    "preserved_include_problem",
    "preserved_paths",
    "render",
    "scan",
    "sync_view",
    "touched",
    "undefined",
    "undefined_problem",
]

# Kept in step with crds/environment.yaml (spec.values).
NAME_PATTERN = r"[A-Za-z][A-Za-z0-9_-]{0,62}"
MAX_VALUES = 128
MAX_VALUE_LENGTH = 2048

MARKER = "$(values."
_MARKER_BYTES = MARKER.encode()
# A run of `$` before `(values.` (group 1), then the name and `)` when they are well formed
# (group 2). An even run is escapes only (a literal); an odd one ends in a reference.
_TOKEN = re.compile(r"(\$+)\(values\.(?:(" + NAME_PATTERN + r")\))?")
# How many missing names and malformed references a message lists before "and N more".
LISTED_MISSING = 10
LISTED_MALFORMED = 5


def _is_literal(match: re.Match[str]) -> bool:
    return len(match.group(1)) % 2 == 0


def _snippet(text: str, at: int) -> str:
    part = text[at : at + 40]
    return part + ("…" if len(text) > at + 40 else "")


# --- finding references ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scan:
    """Every reference (name → JSON Pointers of the strings using it) and every malformed
    one ((pointer, what to fix)) in a document."""

    references: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    malformed: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return sorted(self.references)


def has_references(raw: bytes) -> bool:
    """Cheap test on canonical JSON: False means the document renders to itself."""
    return _MARKER_BYTES in raw


def _strings(value: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    """(pointer, text, is a member name) for every string in the document."""
    if isinstance(value, str):
        yield path, value, False
    elif isinstance(value, Mapping):
        for key, child in value.items():
            here = child_pointer(path, key)
            if "$(values." in key:
                yield here, key, True
            yield from _strings(child, here)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _strings(child, f"{path}/{index}")


def _mentions(value: Any) -> bool:
    """Whether any string or member name contains the marker: the common "no" costs a
    fraction of a full scan (guardrails run this on every version)."""
    if isinstance(value, str):
        return MARKER in value
    if isinstance(value, Mapping):
        return any(MARKER in key or _mentions(child) for key, child in value.items())
    if isinstance(value, list):
        return any(_mentions(child) for child in value)
    return False


def scan(document: Any) -> Scan:
    if not _mentions(document):
        return Scan()
    references: dict[str, list[str]] = {}
    malformed: list[tuple[str, str]] = []
    for path, text, is_key in _strings(document, ""):
        if MARKER not in text:
            continue
        if is_key:
            malformed.append(
                (
                    path,
                    f"member name {_snippet(text, 0)!r} contains $(values.…): "
                    "references are replaced only in string values, not in member names",
                )
            )
            continue
        for match in _TOKEN.finditer(text):
            if _is_literal(match):
                continue
            name = match.group(2)
            if name is None:
                malformed.append(
                    (
                        path,
                        f"malformed reference {_snippet(text, match.end(1) - 1)!r}: write $(values.NAME) "
                        "with a NAME of letters, digits, - or _ (starting with a letter, at most 63), "
                        "or $$(values. for a literal $(values.",
                    )
                )
            else:
                paths = references.setdefault(name, [])
                if not paths or paths[-1] != path:
                    paths.append(path)
    return Scan({name: tuple(paths) for name, paths in sorted(references.items())}, tuple(malformed))


def defined_names(values: Mapping[str, Any] | None) -> frozenset[str]:
    return frozenset(name for name, value in (values or {}).items() if isinstance(value, str))


def undefined(found: Scan, defined: frozenset[str] | set[str]) -> dict[str, tuple[str, ...]]:
    """Referenced names the environment does not define, with where they are used."""
    return {name: paths for name, paths in found.references.items() if name not in defined}


def _where(paths: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(p or '""' for p in paths[:limit])
    more = len(paths) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def undefined_problem(name: str, paths: Sequence[str], environment: str) -> str:
    return (
        f"$(values.{name}) at {_where(paths)} is not defined in environment {environment}: "
        f"add {name} to the Environment's spec.values (or remove the reference)"
    )


def missing_message(document: Any, values: Mapping[str, Any] | None, environment: str) -> str | None:
    """Why this document cannot go to `environment`, naming the missing values (the first 10, then how many more; None: it can)."""
    found = scan(document)
    missing = undefined(found, defined_names(values))
    if not missing and not found.malformed:
        return None
    parts = []
    if missing:
        listed = "; ".join(f"{name} (used at {_where(paths)})" for name, paths in list(missing.items())[:LISTED_MISSING])
        more = len(missing) - LISTED_MISSING
        parts.append(
            f"environment {environment} does not define {len(missing)} value(s) the document references: "
            f"{listed}{f' and {more} more' if more > 0 else ''}; add them to the Environment's spec.values"
        )
    if found.malformed:
        more = len(found.malformed) - LISTED_MALFORMED
        parts.append(
            "; ".join(f"{path}: {why}" for path, why in found.malformed[:LISTED_MALFORMED])
            + (f" and {more} more" if more > 0 else "")
        )
    return "; ".join(parts)


# --- rendering -------------------------------------------------------------------------------


class Unrenderable(ValueError):
    """A document that references values its environment lacks, or malformed references."""


def _render_text(text: str, values: Mapping[str, str], used: dict[str, str], counts: dict[str, int]) -> str:
    def replace(match: re.Match[str]) -> str:
        dollars = match.group(1)
        if _is_literal(match):
            return dollars[: len(dollars) // 2] + match.group(0)[len(dollars) :]
        name = match.group(2)
        value = values.get(name) if name is not None else None
        if not isinstance(value, str):
            raise Unrenderable(name or "")
        used[name] = value
        counts[name] = counts.get(name, 0) + 1
        return dollars[: len(dollars) // 2] + value

    return _TOKEN.sub(replace, text)


def _render(value: Any, values: Mapping[str, str], used: dict[str, str], counts: dict[str, int]) -> Any:
    if isinstance(value, str):
        return _render_text(value, values, used, counts) if MARKER in value else value
    if isinstance(value, Mapping):
        return {key: _render(child, values, used, counts) for key, child in value.items()}
    if isinstance(value, list):
        return [_render(child, values, used, counts) for child in value]
    return value


def render(
    document: Any, values: Mapping[str, Any] | None, environment: str, counts: dict[str, int] | None = None
) -> tuple[Any, dict[str, str]]:
    """(the document with every reference replaced, the values it used). Unrenderable
    names the values the environment lacks (and malformed references). `counts`, when
    given, receives how many references to each value were replaced."""
    values = values or {}
    problem = missing_message(document, values, environment)
    if problem:
        raise Unrenderable(problem)
    used: dict[str, str] = {}
    return _render(document, values, used, {} if counts is None else counts), dict(sorted(used.items()))


def growth(used: Mapping[str, str], counts: Mapping[str, int]) -> dict[str, int]:
    """Bytes each value adds to the document's canonical JSON: its JSON-escaped UTF-8
    length in place of `$(values.NAME)`, once per reference (negative when shorter)."""
    return {
        name: counts.get(name, 0) * (len(canonical_json(value)) - 2 - len(MARKER) - len(name) - 1) for name, value in used.items()
    }


def digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def digests(used: Mapping[str, str]) -> dict[str, str]:
    """What a ConfigMap records of the values it was rendered with: name → short digest."""
    return {name: digest(value) for name, value in sorted(used.items())}


def changed_names(rendered_with: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> list[str]:
    """Names whose value differs now (or is gone) from what a ConfigMap was rendered with."""
    values = values or {}
    return sorted(
        name
        for name, held in (rendered_with or {}).items()
        if not isinstance(values.get(name), str) or digest(values[name]) != held
    )


def touched(rendered_with: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> bool:
    return bool(changed_names(rendered_with, values))


# --- environment-owned parts -----------------------------------------------------------------


_ABSENT = object()


def _child(value: Any, token: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(token, _ABSENT)
    if isinstance(value, list) and token.isdigit() and (token == "0" or token[0] != "0"):
        index = int(token)
        return value[index] if index < len(value) else _ABSENT
    return _ABSENT


def _expand(pattern: Sequence[str], value: Any, prefix: list[str]) -> Iterator[list[str]]:
    """Concrete token paths of `value` that `pattern` names (`*` is any one member)."""
    if not pattern:
        yield prefix
        return
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        if isinstance(value, Mapping):
            members: list[str] = sorted(value)
        elif isinstance(value, list):
            members = [str(i) for i in range(len(value))]
        else:
            members = []
    else:
        members = [head]
    for member in members:
        child = _child(value, member)
        if child is not _ABSENT:
            yield from _expand(rest, child, prefix + [member])


def _settable(document: Any, tokens: Sequence[str]) -> bool:
    """Whether the place exists or can be added: its parent is an object, or an array
    that has that index."""
    parent = _value_at(document, tokens[:-1])
    if isinstance(parent, Mapping):
        return True
    return isinstance(parent, list) and _child(parent, tokens[-1]) is not _ABSENT


def _set(document: Any, tokens: Sequence[str], value: Any) -> Any:
    """`document` with `value` at `tokens` (a settable place), copying only the
    containers on the way."""
    if not tokens:
        return value
    head, rest = tokens[0], tokens[1:]
    if isinstance(document, Mapping):
        copy = dict(document)
        copy[head] = _set(document[head], rest, value) if rest else value
        return copy
    copy_list = list(document)
    copy_list[int(head)] = _set(document[int(head)], rest, value) if rest else value
    return copy_list


def _same(a: Any, b: Any) -> bool:
    return a is b or canonical_json(a) == canonical_json(b)


@dataclass(frozen=True)
class Kept:
    """An environment-owned part a promotion left as it was: `value` is what the target
    keeps, `offered` what the source had there (unless `source_lacks_it`)."""

    path: str
    pattern: str
    value: Any
    offered: Any
    source_lacks_it: bool = False


@dataclass(frozen=True)
class Preserved:
    document: Any
    kept: tuple[Kept, ...] = ()


def preserve(base: Any | None, result: Any, patterns: Sequence[str]) -> Preserved:
    """`result` (what a promotion would write) with every part `patterns` name in `base`
    (the target's HEAD) put back as it is in `base`. A part the target does not have yet
    is taken from the source; a part whose parent the promotion removes goes with it."""
    if base is None or not patterns:
        return Preserved(result)
    places: dict[str, tuple[list[str], str]] = {}
    for pattern in patterns:
        for tokens in _expand(split_pointer(pattern), base, []):
            places.setdefault(join_pointer(tokens), (tokens, pattern))
    kept: list[Kept] = []
    # Shallow first: a part inside one already put back is equal and skipped.
    for path, (tokens, pattern) in sorted(places.items(), key=lambda item: (len(item[1][0]), item[0])):
        ours, theirs = _value_at(base, tokens), _value_at(result, tokens)
        if theirs is not _ABSENT and _same(ours, theirs):
            continue
        if not _settable(result, tokens):
            continue  # its parent is gone from the result
        result = _set(result, tokens, ours)
        kept.append(Kept(path, pattern, ours, None if theirs is _ABSENT else theirs, theirs is _ABSENT))
    return Preserved(result, tuple(kept))


def _value_at(document: Any, tokens: Sequence[str]) -> Any:
    for token in tokens:
        document = _child(document, token)
        if document is _ABSENT:
            return _ABSENT
    return document


def _covers(pattern: Sequence[str], path: Sequence[str]) -> bool:
    return len(pattern) <= len(path) and all(p in ("*", t) for p, t in zip(pattern, path))


def preserved_include_problem(include: Sequence[str], patterns: Sequence[str], environment: str) -> str | None:
    """A partial promotion that asks only for environment-owned content would do nothing:
    say so instead of reporting "nothing to promote"."""
    for pointer in include:
        try:
            tokens = split_pointer(pointer)
        except ValueError:
            continue  # the selection reports it
        for pattern in patterns:
            if _covers(split_pointer(pattern), tokens):
                return (
                    f"spec.changes.include {pointer} is owned by environment {environment} "
                    f"(spec.preservedPaths {pattern}): promotions never overwrite it; remove it from spec.changes.include"
                )
    return None


def sync_view(own: Any, upstream: Any, patterns: Sequence[str]) -> tuple[int, int]:
    """(paths that differ, parts that differ only where this environment owns them):
    `own` is compared with what promoting `upstream` would make of it."""
    owned = preserve(own, upstream, patterns)
    return diffs.changed_paths_count(own, owned.document), len(owned.kept)


def preserved_paths(env: Mapping[str, Any] | None) -> list[str]:
    return [p for p in ((env or {}).get("spec") or {}).get("preservedPaths") or () if isinstance(p, str)]


def _abbreviate(value: Any, max_chars: int) -> Any:
    text = canonical_json(value).decode("utf-8")
    if len(text) <= max_chars:
        return value
    return f"<{len(text.encode())} bytes, sha256:{hashlib.sha256(text.encode()).hexdigest()[:8]}…>"


def kept_status(kept: Sequence[Kept], limit: int, max_chars: int) -> list[dict[str, Any]]:
    """The plan's `preserved` list: each kept part, its value and what the source offered."""
    out = []
    for part in kept[:limit]:
        entry: dict[str, Any] = {"path": part.path, "preservedPath": part.pattern, "value": _abbreviate(part.value, max_chars)}
        if not part.source_lacks_it:
            entry["offered"] = _abbreviate(part.offered, max_chars)
        out.append(entry)
    return out
