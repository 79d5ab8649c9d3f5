"""Kopf's annotation keys, formed once per handler id instead of on every event.

Kopf's storages form each key again for every read and write: the prefix joined, unsafe
characters replaced, long names hashed, the rollback-era variant added. That is about
9 µs a call, several calls per object and event: 3,000 resumed flows pay it tens of
thousands of times. The keys depend on the object only for ReplicaSets owned by
Deployments (Kopf marks those), which take Kopf's way every time.
"""

from __future__ import annotations

from collections.abc import Iterable

import kopf

MARKED_KIND = "ReplicaSet"


class CachedStorageKeys:
    """For a Kopf storage class (placed before it): make_keys() remembered per key."""

    def make_keys(self, key: str, *, body: kopf.Body | None = None) -> Iterable[str]:
        kopfs: Iterable[str]
        if body is not None and body.get("kind") == MARKED_KIND:
            kopfs = super().make_keys(key, body=body)  # type: ignore[misc]  # the storage's own
            return kopfs
        cache: dict[str, tuple[str, ...]] = self.__dict__.setdefault("_formed_keys", {})
        keys = cache.get(key)
        if keys is None:
            kopfs = super().make_keys(key)  # type: ignore[misc]
            keys = cache[key] = tuple(kopfs)
        return keys


class ProgressStorage(CachedStorageKeys, kopf.AnnotationsProgressStorage):
    """Kopf's annotation progress storage with its keys formed once."""
