"""JSON Pointer (RFC 6901) tokens and paths, on the `jsonpointer` library.

One place for escaping and parsing: diffs, selections, guardrail messages, the CLI and
JSON Patch requests all name document parts the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import jsonpointer

__all__ = ["child", "escape_token", "join_pointer", "split_pointer", "unescape_token"]


def escape_token(token: str | int) -> str:
    return jsonpointer.escape(str(token))


def unescape_token(token: str) -> str:
    if "/" in token:
        raise ValueError(f"invalid JSON Pointer token {token!r}: '/' separates tokens")
    try:
        return str(jsonpointer.JsonPointer("/" + token).parts[0])
    except jsonpointer.JsonPointerException:
        raise ValueError(f"invalid JSON Pointer token {token!r}: '~' must be followed by 0 or 1") from None


def join_pointer(tokens: Iterable[str | int]) -> str:
    return "".join("/" + escape_token(t) for t in tokens)


def child(pointer: str, token: str | int) -> str:
    """The pointer to member or item `token` of the value at `pointer`."""
    return pointer + "/" + escape_token(token)


def split_pointer(ptr: str) -> list[str]:
    """ "" is the whole document; "/" is the key "" (not the root)."""
    if ptr == "":
        return []
    if not isinstance(ptr, str) or not ptr.startswith("/"):
        raise ValueError(f"invalid JSON Pointer {ptr!r}: must be empty or start with '/'")
    try:
        return list(jsonpointer.JsonPointer(ptr).parts)
    except jsonpointer.JsonPointerException:
        raise ValueError(f"invalid JSON Pointer {ptr!r}: '~' must be followed by 0 or 1") from None
