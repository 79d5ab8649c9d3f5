"""Follows which FlowVersions exist, from a metadata-only watch (no content crosses the wire)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from flowops.kube import FLOWVERSIONS, Kube

from .watch import Watch, Watched

LABEL_FLOW = "flowops.io/flow"
LABEL_NUMBER = "flowops.io/number"


class VersionTracker(Watched):
    """Newest version number per flow, and when each number first appeared."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.newest: dict[str, int] = defaultdict(int)
        self.seen_at: dict[tuple[str, int], float] = {}
        self.count = 0
        self.watch = Watch(kube, FLOWVERSIONS, namespace, self._on_event, metadata_only=True)

    def _on_event(self, kind: str, obj: dict[str, Any], now: float) -> None:
        labels = obj["metadata"].get("labels") or {}
        flow, number = labels.get(LABEL_FLOW), labels.get(LABEL_NUMBER)
        if not flow or not number:
            return
        if kind == "ADDED" and (flow, int(number)) not in self.seen_at:
            self.seen_at[(flow, int(number))] = now
            self.count += 1
            self.newest[flow] = max(self.newest[flow], int(number))
        elif kind == "DELETED":
            self.count -= 1

    def wait_all(self, flows: list[str], number: int, timeout: float) -> float:
        """Waits until every flow has a version `number` (or newer); returns when the last appeared."""
        pending = [f for f in flows]

        def done() -> bool:
            pending[:] = [f for f in pending if self.newest[f] < number]
            return not pending

        self.watch.wait(done, timeout, f"version {number} of {len(flows)} flows ({len(pending)} missing)")
        return max(self.seen_at.get((f, number), 0.0) for f in flows) or time.monotonic()
