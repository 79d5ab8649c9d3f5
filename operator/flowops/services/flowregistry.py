"""Each namespace's flows, their HEAD and out-of-sync state, as the operator last saw them.

Fed by every Flow watch event. A Kopf index would do the same but makes every Flow wait
for every other at start-up (one readiness toggle per object, re-checked on each drop:
quadratic in flows). Counts are trusted only once a namespace is complete: every flow a
metadata-only list found there has been seen since, so a restart publishes no partial
counts.

It also holds the resumed flows waiting for their upstream namesake's first event (see
domain/syncreport): registering a waiter and recording a HEAD happen under one lock, so
whichever of the two flows is seen first, the report is checked exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from ..domain.syncreport import Upstream

SyncState = dict[str, Any] | None


class FlowRegistry:
    def __init__(self) -> None:
        self._flows: dict[str, dict[str, SyncState]] = {}
        self._heads: dict[tuple[str, str], str | None] = {}
        self._awaited: dict[str, set[str]] = {}  # listed, not yet seen; absent: never primed
        self._gone: dict[str, set[str]] = {}  # deleted before the namespace was primed
        self._guard = threading.Lock()
        self._priming: dict[str, threading.Lock] = {}
        self._waiting: dict[tuple[str, str], set[str]] = {}  # upstream flow -> downstream namespaces

    def observe(self, namespace: str, name: str, sync: SyncState, deleted: bool = False, head: str | None = None) -> list[str]:
        """Records the event; returns the downstream namespaces whose namesake waited for it."""
        with self._guard:
            waiting = sorted(self._waiting.pop((namespace, name), ()))
            flows = self._flows.setdefault(namespace, {})
            if deleted:
                flows.pop(name, None)
                self._heads.pop((namespace, name), None)
                if namespace not in self._awaited:
                    self._gone.setdefault(namespace, set()).add(name)
            else:
                flows[name] = dict(sync) if sync else None
                self._heads[(namespace, name)] = head
            self._awaited.get(namespace, set()).discard(name)
            return waiting

    def prime(self, namespace: str, list_names: Callable[[], Iterable[str]]) -> None:
        """Once per namespace: the flows that exist now, to know when all have been seen."""
        with self._guard:
            if namespace in self._awaited:
                return
            priming = self._priming.setdefault(namespace, threading.Lock())
        with priming:  # concurrent callers wait for one list instead of making their own
            with self._guard:
                if namespace in self._awaited:
                    return
            names = set(list_names())  # outside the registry's lock: an API call
            with self._guard:
                # Seen already, or deleted while listing (its DELETED event came first): not awaited.
                seen = set(self._flows.get(namespace, {})) | self._gone.pop(namespace, set())
                self._awaited[namespace] = names - seen

    def primed(self, namespace: str) -> bool:
        with self._guard:
            return namespace in self._awaited

    def complete(self, namespace: str) -> bool:
        with self._guard:
            return namespace in self._awaited and not self._awaited[namespace]

    def sync_of(self, namespace: str, name: str) -> tuple[bool, SyncState]:
        """(known, sync state) of one flow."""
        with self._guard:
            flows = self._flows.get(namespace, {})
            return name in flows, flows.get(name)

    def head_of(self, namespace: str, name: str) -> tuple[bool, str | None]:
        """(known, HEAD version id) of one flow, as its status last said."""
        with self._guard:
            key = (namespace, name)
            return key in self._heads, self._heads.get(key)

    def upstream_head(self, namespace: str, name: str, waiter: str) -> tuple[Upstream, str | None]:
        """What is known of flow `name` in `namespace` (an upstream) and its HEAD. While it is
        listed but not seen yet, `waiter` (the downstream namespace) is handed back by the
        event that makes it known."""
        with self._guard:
            key = (namespace, name)
            if key in self._heads:
                return "known", self._heads[key]
            if namespace not in self._awaited:
                return "unlisted", None
            if name not in self._awaited[namespace]:
                return "absent", None  # not listed, or deleted since
            self._waiting.setdefault(key, set()).add(waiter)
            return "awaited", None

    def counts(self, namespace: str) -> tuple[int, int] | None:
        """(flows, out of sync), or None while the namespace is not complete."""
        with self._guard:
            if self._awaited.get(namespace, {None}):
                return None
            flows = self._flows.get(namespace, {})
            return len(flows), sum(1 for sync in flows.values() if (sync or {}).get("state") == "OutOfSync")
