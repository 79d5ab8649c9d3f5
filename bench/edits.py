"""Drives many flows through many versions, the way a GitOps sync does: each round is one
server-side apply of every flow with one more edit, and waits for the versions it makes."""

from __future__ import annotations

from typing import Any

from . import population
from .documents import edited
from .harness import Bench
from .versions import VersionTracker


def bring_to(bench: Bench, namespace: str, flows: list[str], content: dict[str, Any], versions: int, timeout: float) -> None:
    """Applies rounds until every flow has at least `versions` versions; a round waits for
    its versions, so no edit is folded into the next."""
    with VersionTracker(bench.kube, namespace) as tracker:
        tracker.wait_all(flows, 1, timeout)
        while True:
            behind = [f for f in flows if tracker.newest[f] < versions]
            if not behind:
                return
            number = min(tracker.newest[f] for f in behind) + 1
            population.apply_flows(bench, namespace, behind, edited(content, number))
            tracker.wait_all(behind, number, timeout)
            bench.log(f"{namespace}: {len(behind)} flows at version {number}")
