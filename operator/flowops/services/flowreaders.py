"""Which clients read a flow lately, and the HEAD its events had shown when they began.

A client's status tells the ApiClient index which flow it asks for only once it is
written. A client that read HEAD just before HEAD moved, and whose status the index does
not show yet, is missed by the Flow's event unless the event also asks here: a reader
that began before the events showed this HEAD may hold an older one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Long enough for a written status to reach the ApiClient index, which then answers.
READER_TTL = 60.0

UNSEEN = object()  # no event of the flow seen yet when the reader began


class FlowReaders:
    def __init__(self) -> None:
        self._by_flow: dict[tuple[str, str], dict[str, tuple[object, float]]] = {}
        self._flow_of: dict[tuple[str, str], str] = {}
        self._guard = threading.Lock()

    def begin(
        self, namespace: str, flow: str, client: str, head_shown: object, now: Callable[[], float] = time.monotonic
    ) -> None:
        """Before `client` reads `flow`: `head_shown` is the HEAD its events show now
        (UNSEEN if none came yet)."""
        with self._guard:
            before = self._flow_of.get((namespace, client))
            if before is not None and before != flow:
                self._by_flow.get((namespace, before), {}).pop(client, None)
            self._flow_of[(namespace, client)] = flow
            self._by_flow.setdefault((namespace, flow), {})[client] = (head_shown, now())

    def ended(self, namespace: str, client: str, now: Callable[[], float] = time.monotonic) -> None:
        """The reconcile is over: the time to live runs from here."""
        with self._guard:
            flow = self._flow_of.get((namespace, client))
            readers = self._by_flow.get((namespace, flow)) if flow is not None else None
            if readers is not None and client in readers:
                readers[client] = (readers[client][0], now())

    def behind(
        self, namespace: str, flow: str, head: str | None, deleted: bool, now: Callable[[], float] = time.monotonic
    ) -> list[str]:
        """Readers of `flow` that began before its events showed `head` (or its deletion);
        readers past their time to live are forgotten."""
        moment = now()
        with self._guard:
            readers = self._by_flow.get((namespace, flow))
            if not readers:
                return []
            for client, (_, when) in list(readers.items()):
                if moment - when > READER_TTL:
                    del readers[client]
                    self._flow_of.pop((namespace, client), None)
            if not readers:
                del self._by_flow[(namespace, flow)]
                return []
            return [client for client, (shown, _) in readers.items() if deleted or shown != head]
