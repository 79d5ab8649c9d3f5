"""Kopf diff-base that never copies the flow document into an annotation.

Kopf's default keeps the whole last-handled spec in an annotation (256 KiB for all
annotations of an object) and deep-copies bodies to build it. Flow documents are
megabytes, so large values in spec are replaced by their digest: the essence still
changes exactly when they change, and stays a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import kopf

# Spec values larger than this (as JSON) are kept as a digest only.
DIGEST_THRESHOLD_BYTES = 1024


def digest_of(value: Any) -> str:
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def _shrink(value: Any) -> Any:
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if len(encoded) <= DIGEST_THRESHOLD_BYTES:
        return value
    if isinstance(value, dict) and len(value) <= 16:
        return {key: _shrink(item) for key, item in value.items()}
    # Long strings too: one large text (a template, a blob) would overflow the annotation.
    return {"$digest": digest_of(value)}


class DigestDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """Annotation diff-base whose essence holds digests instead of large spec values."""

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        # Build from a shallow view without the spec so Kopf never deep-copies the document.
        spec = body.get("spec", {})
        view = {key: value for key, value in body.items() if key != "spec"}
        essence = super().build(body=kopf.Body(view), extra_fields=extra_fields)
        shrunk = {key: _shrink(value) for key, value in spec.items()}
        if shrunk:
            essence["spec"] = shrunk  # type: ignore[index]
        return essence
