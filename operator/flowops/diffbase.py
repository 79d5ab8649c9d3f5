"""Kopf diff-base that never copies the flow document into an annotation.

Kopf's default keeps the whole last-handled spec in an annotation (256 KiB for all
annotations of an object) and deep-copies bodies to build it. Flow documents are
megabytes, so large values in spec are replaced by a marker that changes when they may
have changed: the object's generation, which the API server bumps on every spec change
(no serialising of a megabyte document in the event loop), or, for a body without one,
the value's digest. The essence stays a few hundred bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import kopf

from .lru import BoundedLRU
from .storagekeys import CachedStorageKeys

# Spec values larger than this (as JSON) are kept as a digest only.
DIGEST_THRESHOLD_BYTES = 1024
# Spec values with more nodes than this (keys and items, counted until passed) are kept as
# the generation only: counting stops early, serialising would not.
GENERATION_THRESHOLD_NODES = 64
# Kopf builds the essence of one event body several times; bodies never change per resourceVersion.
MEMO_ENTRIES = 256
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(value: Any) -> str:
    return "sha256:" + hashlib.sha256(_encode(value)).hexdigest()


def _copied(value: Any) -> Any:
    """A copy of a JSON value (dicts and lists; strings and numbers are immutable): the
    memoised essences are small, and copy.deepcopy's bookkeeping was most of their cost."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def _more_nodes_than(value: Any, limit: int) -> bool:
    pending, seen = [value], 0
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            seen += len(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            seen += len(node)
            pending.extend(node)
        if seen > limit:
            return True
    return False


def _shrink(value: Any, generation: int | None = None) -> Any:
    """Small values stay; large ones become the generation (when known) or a digest
    (strings too; one serialisation)."""
    if generation is not None and _more_nodes_than(value, GENERATION_THRESHOLD_NODES):
        return {"$generation": generation}
    encoded = _encode(value)
    if len(encoded) <= DIGEST_THRESHOLD_BYTES:
        return value
    return {"$digest": "sha256:" + hashlib.sha256(encoded).hexdigest()}


class DigestDiffBaseStorage(CachedStorageKeys, kopf.AnnotationsDiffBaseStorage):
    """Annotation diff-base whose essence holds digests instead of large spec values."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Essences by resourceVersion, first in first out (looked up with peek); spec essences by
        # generation, least recently used.
        self._memo: BoundedLRU[tuple[Any, ...], kopf.BodyEssence] = BoundedLRU(MEMO_ENTRIES)
        self._specs: BoundedLRU[tuple[Any, ...], dict[str, Any]] = BoundedLRU(MEMO_ENTRIES)
        # Digests of spec values by generation, for essences stored before generation markers.
        self._digests: BoundedLRU[tuple[Any, ...], Any] = BoundedLRU(MEMO_ENTRIES)

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        """The last-handled essence. One written before generation markers holds digests:
        a value still matching its digest reads as the marker build() makes now, so an
        upgrade does not look like a change of every Flow (a handler run and a write each)."""
        essence = super().fetch(body=body)
        spec = (essence or {}).get("spec")
        meta = body.get("metadata", {})
        generation = meta.get("generation")
        if not isinstance(spec, dict) or generation is None:
            return essence
        for name, stored in list(spec.items()):
            if isinstance(stored, dict) and set(stored) == {"$digest"} and name in (body.get("spec") or {}):
                current = body["spec"][name]
                # Until the next change stores a new essence, every event would serialise it.
                key = (meta.get("uid"), generation, name)
                digest = self._digests.get(key)
                if digest is None:
                    digest = _shrink(current)
                    self._digests.add(key, digest)
                if digest == stored:
                    spec[name] = _shrink(current, generation)
        return essence

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        extra = tuple(str(f) for f in extra_fields or ())
        meta = body.get("metadata", {})
        key = (meta.get("uid"), meta.get("resourceVersion"), extra) if meta.get("resourceVersion") else None
        cached = self._memo.peek(key) if key else None
        if cached is not None:
            return _copied(cached)  # small: digests, labels and annotations
        essence = self._build(body, extra_fields)
        if key:
            self._memo.add(key, _copied(essence))
        return essence

    def _build(self, body: kopf.Body, extra_fields: Iterable[Any] | None) -> kopf.BodyEssence:
        # Kopf's own build deep-copies the body and walks field paths: about 150 µs a Flow,
        # paid for every event and 3,000 times in a restart of 3,000 flows. The essence is
        # made here directly, with the same rules; handlers that watch a field (Kopf's
        # extra_fields, e.g. a Promotion's spec.approved) or ignored fields take Kopf's way.
        if extra_fields or self.ignored_fields:
            return self._build_with_kopf(body, extra_fields)
        meta = body.get("metadata", {})
        metadata: dict[str, Any] = {}
        if meta.get("labels"):
            metadata["labels"] = dict(meta["labels"])
        annotations = self._kept_annotations(body, meta.get("annotations") or {})
        if annotations:
            metadata["annotations"] = annotations
        essence: dict[str, Any] = {"metadata": metadata} if metadata else {}
        shrunk = self._shrunk_spec(body)
        if shrunk:
            essence["spec"] = shrunk
        return essence  # type: ignore[return-value]  # a plain dict is what Kopf stores

    def _kept_annotations(self, body: kopf.Body, annotations: dict[str, str]) -> dict[str, str]:
        """Kopf's rules: not kubectl's copy of the object, not this storage's own record,
        not the annotations of other Kopf-based operators."""
        if not annotations:
            return {}
        own = set(self.make_keys(self.key, body=body))
        foreign = tuple(f"{prefix}/" for prefix in self._detect_marked_prefixes(annotations))
        return {
            key: value
            for key, value in annotations.items()
            if key != LAST_APPLIED and key not in own and not (foreign and key.startswith(foreign))
        }

    def _build_with_kopf(self, body: kopf.Body, extra_fields: Iterable[Any] | None) -> kopf.BodyEssence:
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
                return _copied(cached)
        generation = meta.get("generation")
        shrunk = {name: _shrink(value, generation) for name, value in body.get("spec", {}).items()}
        if key is not None:
            self._specs.add(key, _copied(shrunk))
        return shrunk
