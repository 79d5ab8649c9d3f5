"""The Flow views this process has already reconciled to the end.

A Promotion writes the target Flow's content and reconciles the object that write
returned, under the flow's lock: its version, its status. The watch event of that same
write reaches the Flow handler afterwards, carrying the status from before. Reconciling
it again would list the versions (the old status no longer matches the cache) and write
the status once more (tens of milliseconds of API server time for a large document), to
no effect. A view is the same when the Flow's uid and resourceVersion are, and so are the
Environment's uid and spec (new guardrails re-evaluate the same Flow object; Kopf's index
holds Environments without their generation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.canonical import content_hash
from ..lru import BoundedLRU

View = tuple[tuple[str, str], tuple[str, str, str, str]]


def view_of(flow: Mapping[str, Any], env: Mapping[str, Any] | None) -> View | None:
    """The view's identity, computed once per reconcile (None: a body without uid or resourceVersion)."""
    meta = flow["metadata"]
    if not meta.get("uid") or not meta.get("resourceVersion"):
        return None
    env_meta = (env or {}).get("metadata") or {}
    key = (meta["namespace"], meta["name"])
    env_id = str(env_meta.get("uid") or env_meta.get("name") or "")
    return key, (meta["uid"], meta["resourceVersion"], env_id, content_hash((env or {}).get("spec") or {}))


class ReconciledViews:
    def __init__(self, max_entries: int = 4096) -> None:
        # Only the last view per flow, and only briefly useful: the event follows in milliseconds.
        self._entries: BoundedLRU[tuple[str, str], tuple[str, str, str, str]] = BoundedLRU(max_entries)

    def seen(self, view: View | None) -> bool:
        return view is not None and self._entries.peek(view[0]) == view[1]

    def record(self, view: View | None) -> None:
        if view is not None:
            self._entries.put(*view)

    def forget(self, namespace: str, name: str) -> None:
        self._entries.pop((namespace, name))
