"""Follows the status of Flows in a namespace: when each version number was first published."""

from __future__ import annotations

from typing import Any

from flowops.kube import FLOWS, Kube

from .watch import Watch, Watched


class StatusTracker(Watched):
    """latestCreatedNumber / latestReadyVersion per flow, and when each first appeared in status."""

    def __init__(self, kube: Kube, namespace: str, field_selector: str | None = None) -> None:
        self.created: dict[str, int] = {}
        self.ready: dict[str, str] = {}
        self.published_at: dict[tuple[str, int], float] = {}
        self.ready_at: dict[tuple[str, str], float] = {}
        self.watch = Watch(kube, FLOWS, namespace, self._on_event, field_selector=field_selector)

    def _on_event(self, kind: str, obj: dict[str, Any], now: float) -> None:
        name = obj["metadata"]["name"]
        status = obj.get("status") or {}
        number = int(status.get("latestCreatedNumber") or 0)
        if number and status.get("versionCount"):
            self.created[name] = max(self.created.get(name, 0), number)
            self.published_at.setdefault((name, number), now)
        if head := status.get("latestReadyVersion"):
            self.ready[name] = head
            self.ready_at.setdefault((name, head), now)

    def wait_number(self, flow: str, number: int, timeout: float) -> float:
        """Arrival time of the first status showing version `number` (or newer) of `flow`."""
        self.watch.wait(lambda: self.created.get(flow, 0) >= number, timeout, f"{flow} version {number} in status")
        return min(t for (f, n), t in self.published_at.items() if f == flow and n >= number)

    def wait_head(self, flow: str, head: str, timeout: float) -> float:
        self.watch.wait(lambda: self.ready.get(flow) == head, timeout, f"{flow} HEAD {head}")
        return self.ready_at[(flow, head)]
