"""Kopf diff-base that never copies the flow document into an annotation.

Kopf's default keeps the whole last-handled spec in an annotation (256 KiB for all
annotations of an object) and deep-copies bodies to build it. Flow documents are
megabytes, so large values in spec are replaced by their digest: the essence still
changes exactly when they change, and stays a few hundred bytes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import kopf

from .lru import BoundedLRU

# Spec values larger than this (as JSON) are kept as a digest only.
DIGEST_THRESHOLD_BYTES = 1024
# Kopf builds the essence of one event body several times; bodies never change per resourceVersion.
MEMO_ENTRIES = 256
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(value: Any) -> str:
    return "sha256:" + hashlib.sha256(_encode(value)).hexdigest()


def _shrink(value: Any) -> Any:
    """One serialisation per value: small values stay, large ones (strings too) become digests."""
    encoded = _encode(value)
    if len(encoded) <= DIGEST_THRESHOLD_BYTES:
        return value
    return {"$digest": "sha256:" + hashlib.sha256(encoded).hexdigest()}


class DigestDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """Annotation diff-base whose essence holds digests instead of large spec values."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Essences by resourceVersion, first in first out (looked up with peek); spec essences by
        # generation, least recently used.
        self._memo: BoundedLRU[tuple[Any, ...], kopf.BodyEssence] = BoundedLRU(MEMO_ENTRIES)
        self._specs: BoundedLRU[tuple[Any, ...], dict[str, Any]] = BoundedLRU(MEMO_ENTRIES)

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        extra = tuple(str(f) for f in extra_fields or ())
        meta = body.get("metadata", {})
        key = (meta.get("uid"), meta.get("resourceVersion"), extra) if meta.get("resourceVersion") else None
        cached = self._memo.peek(key) if key else None
        if cached is not None:
            return copy.deepcopy(cached)  # small: digests, labels and annotations
        essence = self._build(body, extra_fields)
        if key:
            self._memo.add(key, copy.deepcopy(essence))
        return essence

    def _build(self, body: kopf.Body, extra_fields: Iterable[Any] | None) -> kopf.BodyEssence:
        # Kopf deep-copies what it is given, then drops metadata and status: hand it only
        # labels and annotations (without kubectl's copy of the whole object), never the spec.
        meta = body.get("metadata", {})
        annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
        view: dict[str, Any] = {"metadata": {"labels": dict(meta.get("labels") or {}), "annotations": annotations}}
        if extra_fields:
            view["status"] = body.get("status", {})  # handlers watching status fields
        essence = super().build(body=kopf.Body(view), extra_fields=extra_fields)  # type: ignore[arg-type]  # a plain dict is a raw body
        shrunk = self._shrunk_spec(body)
        if shrunk:
            essence["spec"] = shrunk
        return essence

    def _shrunk_spec(self, body: kopf.Body) -> dict[str, Any]:
        """The spec's essence, once per generation: the spec changes only with it (status
        and metadata writes do not), and serialising a large document is the costly part."""
        meta = body.get("metadata", {})
        key = (meta.get("uid"), meta.get("generation")) if meta.get("uid") and meta.get("generation") else None
        if key is not None:
            cached = self._specs.get(key)
            if cached is not None:
                return copy.deepcopy(cached)
        shrunk = {name: _shrink(value) for name, value in body.get("spec", {}).items()}
        if key is not None:
            self._specs.add(key, copy.deepcopy(shrunk))
        return shrunk
