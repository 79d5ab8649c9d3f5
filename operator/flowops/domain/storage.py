"""How a FlowVersion stores its content (spec.storage): Full or Delta against a keyframe.

Full  = base64(gzip(canonical JSON of the document)).
Delta = base64(gzip(canonical JSON of a JSON Patch)) against a Full "keyframe" version,
        never against the parent: deleting intermediate versions never breaks a chain,
        and reading any version costs one decompress plus one patch.

The patch is a list of RFC 6902 operations produced by `diff.diff` (`patch.to_ops`):
    {"op": "add" | "replace", "path": <JSON Pointer>, "value": <JSON>}
    {"op": "remove", "path": <JSON Pointer>}
    {"op": "move", "from": <JSON Pointer>, "path": <JSON Pointer>}
applied in order, so a generic JSON Patch tool applies it the same way. Deltas written
before arrays were diffed item by item hold only add/remove/replace and still decode.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from .canonical import canonical_json
from .diff import diff
from .patch import apply_changes, from_ops, to_ops

__all__ = [
    "MAX_STORED_DATA_BYTES",
    "DocumentTooLarge",
    "StoragePolicy",
    "StoredContent",
    "decode",
    "encode",
]

# A Kubernetes object is limited to about 1.5 MiB; the stored data must fit with room
# for metadata, the rest of the spec and status.
MAX_STORED_DATA_BYTES = 1_000_000

# Fixed so the same document always gives the same bytes (no timestamp in the header).
_GZIP_LEVEL = 6
_GZIP_MTIME = 0


class DocumentTooLarge(ValueError):
    """The document cannot be stored in one Kubernetes object."""


@dataclass(frozen=True)
class StoragePolicy:
    # A delta larger than this fraction of the Full form is not worth it: store a new keyframe.
    max_delta_ratio: float = 0.25
    max_data_bytes: int = MAX_STORED_DATA_BYTES


@dataclass(frozen=True)
class StoredContent:
    encoding: Literal["Full", "Delta"]
    data: str
    bytes: int  # size of the canonical JSON of the document (not of data)
    base: str | None = None  # keyframe version id, for Delta

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"encoding": self.encoding, "data": self.data, "bytes": self.bytes}
        if self.base is not None:
            spec["base"] = self.base
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> StoredContent:
        encoding = spec.get("encoding")
        if encoding not in ("Full", "Delta"):
            raise ValueError(f"storage.encoding must be Full or Delta, not {encoding!r}")
        data = spec.get("data")
        if not isinstance(data, str):
            raise ValueError("storage.data is missing")
        base = spec.get("base")
        if encoding == "Delta" and not base:
            raise ValueError("storage.base is required for Delta encoding")
        return cls(encoding=encoding, data=data, bytes=int(spec.get("bytes", 0)), base=base)


def _pack(payload: bytes) -> str:
    return base64.b64encode(gzip.compress(payload, compresslevel=_GZIP_LEVEL, mtime=_GZIP_MTIME)).decode("ascii")


def _unpack(data: str) -> Any:
    try:
        return json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
    except (binascii.Error, OSError, EOFError, zlib.error, ValueError) as exc:
        raise ValueError(f"stored data is corrupt: {exc}") from None


def _from_ops(ops: Any) -> Any:
    try:
        return from_ops(ops)
    except ValueError as exc:
        raise ValueError(f"stored delta is corrupt: {exc}") from None


def _too_large(doc_bytes: int, stored: int, limit: int) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"flow document is too large to store: {doc_bytes:,} bytes of JSON, {stored:,} bytes "
        f"compressed (base64), limit {limit:,} bytes; split the flow into smaller flows or "
        f"remove content"
    )


def encode(
    doc: Any,
    keyframe: tuple[str, Any, int] | None = None,
    policy: StoragePolicy = StoragePolicy(),
    raw: bytes | None = None,
    size: int | None = None,
) -> StoredContent:
    """Store `doc` as a Delta against `keyframe` (id, document, size of its stored data)
    when that is small enough, else Full.

    A Full result is the next keyframe for the caller. DocumentTooLarge if neither form
    fits in `policy.max_data_bytes`. `raw`: the canonical JSON of `doc`, or `size`, its
    length, if the caller has either. A delta small against the keyframe's stored size is
    stored without compressing the whole document only to measure it (the costliest step
    of a commit of a large document), and, given `size`, without serialising it.
    """
    size = len(raw) if raw is not None else size
    delta: str | None = None
    if keyframe is not None:
        base_id, base_doc, base_data_bytes = keyframe
        delta = _pack(canonical_json(to_ops(diff(base_doc, doc))))
        if len(delta) <= policy.max_delta_ratio * base_data_bytes and len(delta) <= policy.max_data_bytes:
            return StoredContent("Delta", delta, len(canonical_json(doc)) if size is None else size, base_id)
    raw = canonical_json(doc) if raw is None else raw
    full = _pack(raw)
    if keyframe is not None and delta is not None:
        small = len(delta) <= policy.max_delta_ratio * len(full)
        # Prefer the delta also when it is the only form that fits.
        if len(delta) <= policy.max_data_bytes and (small or len(full) > policy.max_data_bytes):
            return StoredContent("Delta", delta, len(raw), base_id)
    if len(full) > policy.max_data_bytes:
        raise _too_large(len(raw), len(full), policy.max_data_bytes)
    return StoredContent("Full", full, len(raw))


def decode(stored: StoredContent, keyframe_doc: Any = None) -> Any:
    """The exact document; a Delta needs its keyframe's document (ValueError without it).

    The result of a Delta shares unchanged parts with `keyframe_doc`: deep-copy before mutating.
    """
    payload = _unpack(stored.data)
    if stored.encoding == "Full":
        return payload
    if stored.encoding != "Delta":
        raise ValueError(f"unknown storage encoding {stored.encoding!r}")
    if keyframe_doc is None:
        raise ValueError(f"cannot decode a Delta without its keyframe: read version {stored.base} (Full) first")
    return apply_changes(keyframe_doc, _from_ops(payload))
