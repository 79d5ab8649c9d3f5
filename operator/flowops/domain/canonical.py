"""Canonical JSON: one byte sequence per document, so hashes compare content, not formatting."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "content_hash", "hash_of_canonical"]


def canonical_json(doc: Any) -> bytes:
    """Serialise `doc` with sorted keys and no whitespace, as UTF-8.

    NaN and Infinity are refused (ValueError): they are not JSON and the API server
    would reject them anyway.
    """
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def content_hash(doc: Any) -> str:
    """Return "sha256:<64 hex>" of the canonical JSON of `doc`."""
    return hash_of_canonical(canonical_json(doc))


def hash_of_canonical(raw: bytes) -> str:
    """content_hash() of the document whose canonical JSON is `raw`: no second serialisation."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()
