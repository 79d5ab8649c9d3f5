"""Drives many flows through many versions: rounds of one small edit per flow."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flowops.kube import FLOWS

from .documents import edit_patch
from .harness import Bench
from .versions import VersionTracker

# Enough concurrent writers to keep the API server busy without swamping two cores.
WRITERS = 4


def bring_to(bench: Bench, namespace: str, flows: list[str], versions: int, timeout: float, edit_base: int = 0) -> None:
    """Edits every flow until each has at least `versions` versions; one edit per flow per round,
    and each round waits for its versions so no edit is folded into the next."""
    with VersionTracker(bench.kube, namespace) as tracker, ThreadPoolExecutor(WRITERS) as pool:
        tracker.wait_all(flows, 1, timeout)
        while True:
            behind = [f for f in flows if tracker.newest[f] < versions]
            if not behind:
                return
            targets = {f: tracker.newest[f] + 1 for f in behind}
            list(pool.map(lambda f: bench.kube.merge_patch(FLOWS, f, edit_patch(edit_base + targets[f]), namespace), behind))
            with tracker.watch.changed:
                pending = list(behind)

            def done() -> bool:
                pending[:] = [f for f in pending if tracker.newest[f] < targets[f]]
                return not pending

            tracker.watch.wait(done, timeout, f"round of {len(behind)} edits")
            bench.log(f"{namespace}: {len(behind)} flows at version {min(targets.values())}+")
