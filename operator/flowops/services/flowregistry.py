"""Each namespace's flows, their HEAD and out-of-sync state, as the operator last saw them.

Fed by every Flow watch event. A Kopf index would do the same but makes every Flow wait
for every other at start-up (one readiness toggle per object, re-checked on each drop:
quadratic in flows). Counts are trusted only once a namespace is complete: every flow a
metadata-only list found there has been seen since, so a restart publishes no partial
counts.

It also holds what resumed before a flow's first event and needs its HEAD: downstream
namesakes with a sync report (domain/syncreport), ApiClients (domain/clientresume) and
Applications (services/applications_resume).
Registering a waiter and recording a HEAD happen under one lock, so whichever is seen
first, each is checked exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..domain.syncreport import Known
from ..kube import FLOWS, Kube

SyncState = dict[str, Any] | None


class SyncSeen(NamedTuple):
    known: bool
    state: SyncState
    resource_version: str | None


class ClientWaiter(NamedTuple):
    """An ApiClient (in the flow's namespace) holding `holds`, current if that is the HEAD."""

    name: str
    holds: str


class ApplicationWaiter(NamedTuple):
    """An Application (in the flow's namespace) whose status holds if `holds(head)`;
    `clients` counts its clients, for the reconcile that follows if not."""

    name: str
    holds: Callable[[str | None], bool]
    clients: Callable[[], int]


# A downstream namespace whose namesake flow waits, an ApiClient, or an Application.
Waiter = str | ClientWaiter | ApplicationWaiter


class FlowRegistry:
    def __init__(self) -> None:
        self._flows: dict[str, dict[str, SyncState]] = {}
        # Kept with every event, so counting is not a walk over a namespace's flows per event.
        self._out_of_sync: dict[str, set[str]] = {}
        self._heads: dict[tuple[str, str], str | None] = {}
        # The resourceVersion each sync state was seen at: a report written from it names it.
        self._seen_at: dict[tuple[str, str], str | None] = {}
        self._awaited: dict[str, set[str]] = {}  # listed, not yet seen; absent: never primed
        self._gone: dict[str, set[str]] = {}  # deleted before the namespace was primed
        self._guard = threading.Lock()
        self._priming: dict[str, threading.Lock] = {}
        self._waiting: dict[tuple[str, str], dict[Waiter, None]] = {}  # flow -> who waits, in order

    def observe(
        self,
        namespace: str,
        name: str,
        sync: SyncState,
        deleted: bool = False,
        head: str | None = None,
        resource_version: str | None = None,
    ) -> list[Waiter]:
        """Records the event; returns who waited for it (see `head_or_wait`)."""
        with self._guard:
            waiting = list(self._waiting.pop((namespace, name), {}))
            flows = self._flows.setdefault(namespace, {})
            out_of_sync = self._out_of_sync.setdefault(namespace, set())
            if deleted:
                flows.pop(name, None)
                out_of_sync.discard(name)
                self._heads.pop((namespace, name), None)
                self._seen_at.pop((namespace, name), None)
                if namespace not in self._awaited:
                    self._gone.setdefault(namespace, set()).add(name)
            else:
                flows[name] = dict(sync) if sync else None
                if (sync or {}).get("state") == "OutOfSync":
                    out_of_sync.add(name)
                else:
                    out_of_sync.discard(name)
                self._heads[(namespace, name)] = head
                self._seen_at[(namespace, name)] = resource_version
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

    def sync_of(self, namespace: str, name: str) -> SyncSeen:
        """(known, sync state, the resourceVersion it was seen at) of one flow."""
        with self._guard:
            flows = self._flows.get(namespace, {})
            return SyncSeen(name in flows, flows.get(name), self._seen_at.get((namespace, name)))

    def head_of(self, namespace: str, name: str) -> tuple[bool, str | None]:
        """(known, HEAD version id) of one flow, as its status last said."""
        with self._guard:
            key = (namespace, name)
            return key in self._heads, self._heads.get(key)

    def head_or_wait(self, namespace: str, name: str, waiter: Waiter) -> tuple[Known, str | None]:
        """What is known of flow `name` in `namespace` and its HEAD. While it is listed but
        not seen yet, `waiter` is handed back by the event that makes it known."""
        with self._guard:
            key = (namespace, name)
            if key in self._heads:
                return "known", self._heads[key]
            if namespace not in self._awaited:
                return "unlisted", None
            if name not in self._awaited[namespace]:
                return "absent", None  # not listed, or deleted since
            self._waiting.setdefault(key, {})[waiter] = None
            return "awaited", None

    def counts(self, namespace: str) -> tuple[int, int] | None:
        """(flows, out of sync), or None while the namespace is not complete."""
        with self._guard:
            if self._awaited.get(namespace, {None}):
                return None
            return len(self._flows.get(namespace, {})), len(self._out_of_sync.get(namespace, ()))


def prime(registry: FlowRegistry, kube: Kube, namespace: str) -> None:
    """The flows that exist in `namespace` now (one metadata list, once per namespace)."""
    registry.prime(namespace, lambda: [i["metadata"]["name"] for i in kube.iterate(FLOWS, namespace, metadata_only=True)])
