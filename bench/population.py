"""The flows that the many-flows scenarios share: N small flows in one environment."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from flowops.kube import FLOWS

from .documents import flow_object, small_flow
from .harness import Bench
from .versions import VersionTracker

NAMESPACE = "bench-flows"


def flow_name(i: int) -> str:
    return f"flow-{i:05d}"


def names(count: int, start: int = 0) -> list[str]:
    return [flow_name(i) for i in range(start, start + count)]


def apply_flows(bench: Bench, namespace: str, flow_names: list[str], content: dict[str, Any]) -> float:
    """One `kubectl apply --server-side` of all the flows; returns its wall time."""
    items = [flow_object(n, content, namespace) for n in flow_names]
    path = Path(bench.out) / f"apply-{namespace}-{len(items)}.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    try:
        began = time.monotonic()
        # --force-conflicts, as GitOps tools apply: a `kubectl patch` in between made another
        # manager co-own spec.content, and the declared state wins.
        bench.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=bench", "-f", str(path))
        return time.monotonic() - began
    finally:
        path.unlink(missing_ok=True)


def existing(bench: Bench, namespace: str = NAMESPACE) -> set[str]:
    return {i["metadata"]["name"] for i in bench.kube.list(FLOWS, namespace, metadata_only=True)}


def ensure(bench: Bench, count: int, timeout: float = 900.0) -> list[str]:
    """At least `count` versioned flows in the shared namespace (created now if missing)."""
    bench.environment(NAMESPACE)
    bench.start_operator()
    wanted = names(count)
    missing = [n for n in wanted if n not in existing(bench)]
    with VersionTracker(bench.kube, NAMESPACE) as tracker:
        if missing:
            bench.log(f"creating {len(missing)} flows in {NAMESPACE}")
            apply_flows(bench, NAMESPACE, missing, small_flow())
        tracker.wait_all(wanted, 1, timeout)
    return wanted
