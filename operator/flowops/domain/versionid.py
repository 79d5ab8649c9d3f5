"""Version ids, version selectors and their resolution against a flow's versions.

A version id is the UTC commit time `YYYYMMDDhhmmss` plus 6 digits of microseconds, so
ids sort lexically in commit order and tell a human when a version was made.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

__all__ = [
    "VERSION_ID_DIGITS",
    "VERSION_ID_PATTERN",
    "Selector",
    "VersionNotFound",
    "VersionRef",
    "format_version_id",
    "next_version_id",
    "parse_selector",
    "parse_version_id",
    "resolve_selector",
]

# The digits of an id as every CRD field that takes one spells them (a unit test holds the
# CRDs to this): month 01-12, day 01-31, hour 00-23, minute and second 00-59. A day its month
# lacks (Feb 30) passes; parse_version_id refuses it.
VERSION_ID_DIGITS = r"[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9][0-9]{6}"
VERSION_ID_PATTERN = f"^{VERSION_ID_DIGITS}$"
# Any 20 digits are taken for an id, so an impossible time is told as one, not as no selector.
_TWENTY_DIGITS = re.compile(r"^[0-9]{20}$")
# Same bounds as the CRD pattern [1-9][0-9]{0,8}.
_NUMBER_RE = re.compile(r"^[1-9][0-9]{0,8}$")
_EXAMPLE_ID = "20261121093012123456"
_ID_FORM = f"20 digits, UTC time YYYYMMDDhhmmss followed by 6 digits of microseconds (e.g. {_EXAMPLE_ID})"
# A content hash names the same content in every cluster, even one rebuilt from git.
_HASH_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

SELECTOR_FORMS = (
    "HEAD (or latest), a version id (20 digits, e.g. " + _EXAMPLE_ID + "), "
    "a version number (1..999999999), a content hash (sha256:<64 hex digits>) or uncommitted (or 0)"
)


def format_version_id(dt: datetime) -> str:
    """Return the 20-digit id of `dt`; aware datetimes are converted to UTC, naive ones are taken as UTC."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return f"{dt.year:04d}{dt.month:02d}{dt.day:02d}{dt.hour:02d}{dt.minute:02d}{dt.second:02d}{dt.microsecond:06d}"


def parse_version_id(s: str) -> datetime:
    """Return the aware UTC datetime of a version id; ValueError if it is not one."""
    if not isinstance(s, str) or not _TWENTY_DIGITS.match(s):
        raise ValueError(f"invalid version id {s!r}: expected {_ID_FORM}")
    try:
        return datetime(
            int(s[0:4]),
            int(s[4:6]),
            int(s[6:8]),
            int(s[8:10]),
            int(s[10:12]),
            int(s[12:14]),
            int(s[14:20]),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise ValueError(f"invalid version id {s!r}: not a real UTC time ({exc}); expected {_ID_FORM}") from None


def next_version_id(now: datetime, previous: str | None) -> str:
    """Return the id for `now`, but strictly greater than `previous`.

    Clocks repeat (coarse resolution) and step back (NTP, another replica), yet ids must
    keep increasing per flow, so then the id is previous + 1 microsecond.
    """
    candidate = format_version_id(now)
    if previous is None or candidate > previous:
        return candidate
    return format_version_id(parse_version_id(previous) + timedelta(microseconds=1))


@dataclass(frozen=True)
class Selector:
    """A parsed version selector. value: the id (str) for "id", the number (int) for "number",
    the content hash (str, "sha256:...") for "hash"."""

    kind: Literal["head", "id", "number", "hash", "uncommitted"]
    value: str | int | None = None

    def __str__(self) -> str:
        if self.kind == "head":
            return "HEAD"
        if self.kind == "uncommitted":
            return "uncommitted"
        return str(self.value)


def parse_selector(text: str) -> Selector:
    """Parse a version selector as written in a spec; ValueError naming the accepted forms."""
    # YAML turns `version: 3` into an int; accept it rather than fail on a type detail.
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        raise ValueError(f"invalid version selector {text!r}: expected {SELECTOR_FORMS}")
    if text in ("HEAD", "latest", "head"):
        return Selector("head")
    if text in ("uncommitted", "0"):
        return Selector("uncommitted")
    if _NUMBER_RE.match(text):
        return Selector("number", int(text))
    if _TWENTY_DIGITS.match(text):
        parse_version_id(text)  # a clear error for 20 digits that are no time
        return Selector("id", text)
    if text.lower().startswith("sha256:"):
        if not _HASH_RE.match(text):
            raise ValueError(f"invalid content hash {text!r}: expected sha256: followed by 64 lowercase hex digits")
        return Selector("hash", text)
    raise ValueError(f"invalid version selector {text!r}: expected {SELECTOR_FORMS}")


class VersionRef(NamedTuple):
    id: str
    number: int
    content_hash: str | None = None


class VersionNotFound(LookupError):
    """The selector names a version the flow does not have."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "version not found"


def _describe_numbers(numbers: Sequence[int]) -> str:
    """Compact ranges ("1..3, 7, 9..12") so a message shows gaps left by retention."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    parts = [str(a) if a == b else f"{a}..{b}" for a, b in runs]
    if len(parts) > 8:
        parts = parts[:4] + ["..."] + parts[-3:]
    return ", ".join(parts)


def _what_it_has(versions: Sequence[VersionRef]) -> str:
    if not versions:
        return "it has no versions yet"
    return "it has " + _describe_numbers([v.number for v in versions])


def resolve_selector(selector: Selector, versions: Sequence[VersionRef], head: str | None) -> VersionRef:
    """Find the version a selector names; VersionNotFound with a message a user can act on.

    `head` is the id of the flow's newest ready version (status.latestReadyVersion).
    "uncommitted" is no version at all: ValueError, callers read the Flow's content.
    """
    if selector.kind == "uncommitted":
        raise ValueError("uncommitted is not a committed version: read the Flow's spec.content instead")
    if selector.kind == "head":
        if head is None:
            raise VersionNotFound("flow has no ready version (HEAD)")
        for v in versions:
            if v.id == head:
                return v
        raise VersionNotFound(f"flow's HEAD {head} no longer exists; {_what_it_has(versions)}")
    if selector.kind == "number":
        for v in versions:
            if v.number == selector.value:
                return v
        raise VersionNotFound(f"flow has no version {selector.value}; {_what_it_has(versions)}")
    if selector.kind == "id":
        for v in versions:
            if v.id == selector.value:
                return v
        if versions:
            first = min(versions, key=lambda v: v.id)
            last = max(versions, key=lambda v: v.id)
            span = f"its ids run from {first.id} (version {first.number}) to {last.id} (version {last.number})"
        else:
            span = "it has no versions yet"
        raise VersionNotFound(f"flow has no version with id {selector.value}; {span}")
    if selector.kind == "hash":
        # The same content may have been committed twice (a restore): the newest names it.
        matches = [v for v in versions if v.content_hash == selector.value]
        if matches:
            return max(matches, key=lambda v: v.number)
        raise VersionNotFound(f"flow has no version with content {selector.value}; {_what_it_has(versions)}")
    raise ValueError(f"unknown selector kind {selector.kind!r}")
