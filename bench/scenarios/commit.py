"""Commit latency: a content change -> its FlowVersion exists and the Flow's status says so.

N flows are present. Each change is a small merge patch of a different flow, made 0.2 s
after the previous one was committed; the clock
starts when the API server has accepted the patch and stops when the status carrying
the new version arrives on a watch. The baseline, interleaved with the changes so that
both see the same load, is a raw create of a ConfigMap holding the same document.
"""

from __future__ import annotations

import time

from flowops.domain.canonical import canonical_json
from flowops.kube import CONFIGMAPS, FLOWS

from .. import population
from ..documents import edit_patch, size_of, small_flow
from ..flowwatch import StatusTracker
from ..harness import Bench
from ..report import Row
from ..stats import Summary
from . import Params, Result

NAME = "1 commit"
RAW_NAMESPACE = "bench-raw-create"
WARMUP = 5
# Edit numbers far from the memory scenario's rounds, so every change really changes content.
EDIT_BASE = 1_000_000
PAUSE = 0.2


def run(bench: Bench, p: Params) -> Result:
    flows = population.ensure(bench, p.flows)
    namespace = population.NAMESPACE
    document = canonical_json(small_flow()).decode()
    bench.namespace(RAW_NAMESPACE)
    bench.wait_operator_idle()

    latencies: list[float] = []
    raw: list[float] = []
    with StatusTracker(bench.kube, namespace) as tracker:
        for i in range(WARMUP + p.changes):
            raw_seconds = _raw_create(bench, i, document)
            flow = flows[i % len(flows)]
            expected = tracker.created.get(flow, 0) + 1
            bench.kube.merge_patch(FLOWS, flow, edit_patch(EDIT_BASE + i), namespace)
            applied = time.monotonic()
            seen = tracker.wait_number(flow, expected, p.timeout)
            if i >= WARMUP:
                latencies.append(max(0.0, seen - applied))
                raw.append(raw_seconds)
            # One edit at a time, as people make them, with a pause for the operator's trailing
            # writes of the previous one (throughput is what the fan-out scenario measures).
            time.sleep(PAUSE)
    bench.kube.request("DELETE", CONFIGMAPS.path(RAW_NAMESPACE))  # one collection delete

    commit, base = Summary.of(latencies), Summary.of(raw)
    bench.log(f"commit: p50 {commit.p50 * 1000:.1f} ms p99 {commit.p99 * 1000:.1f} ms; raw create p50 {base.p50 * 1000:.1f} ms")
    rows = [
        Row(NAME, f"commit latency p50 ({p.changes} changes, {p.flows} flows present)", commit.p50, "s", base.p50,
            "raw create p50", "≤ 3× baseline", commit.p50 <= 3 * base.p50),
        Row(NAME, "commit latency p99", commit.p99, "s", base.p99, "raw create p99"),
    ]
    details = {"document_bytes": size_of(small_flow()), "flows_present": len(flows), "commit": commit.as_dict(),
               "raw_create": base.as_dict(), "warmup": WARMUP}
    return rows, details


def _raw_create(bench: Bench, i: int, document: str) -> float:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"raw-{i:05d}"}, "data": {"flow.json": document}}
    began = time.monotonic()
    bench.kube.create(CONFIGMAPS, body, RAW_NAMESPACE)
    return time.monotonic() - began
