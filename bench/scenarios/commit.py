"""Commit latency: a content change -> its FlowVersion exists and the Flow's status says so.

N flows are present. Each change is a small merge patch of a different flow, made 0.2 s
after the previous one was committed; the clock
starts when the API server has accepted the patch and stops when the status carrying
the new version arrives on a watch. Two baselines, interleaved with the changes so that
all see the same load: a raw create of a ConfigMap holding the same document, and the
floor of a commit that shows in status: that create followed by a small write of the same
object (a version is written, then the status that names it).
"""

from __future__ import annotations

import time

from flowops.domain.canonical import canonical_json
from flowops.kube import CONFIGMAPS, FLOWS

from .. import population, tracing
from ..apicount import api_requests, per_operation, requests_row
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
    floor: list[float] = []
    requests_before: dict[str, float] = {}
    with StatusTracker(bench.kube, namespace) as tracker:
        for i in range(WARMUP + p.changes):
            if i == WARMUP:
                requests_before = api_requests(bench)
            raw_seconds = _raw_create(bench, i, document)
            floor_seconds = _two_writes(bench, i, document)
            flow = flows[i % len(flows)]
            expected = tracker.created.get(flow, 0) + 1
            bench.kube.merge_patch(FLOWS, flow, edit_patch(EDIT_BASE + i), namespace)
            applied = time.monotonic()
            seen = tracker.wait_number(flow, expected, p.timeout)
            tracing.mark("commit", f"{flow}-{expected}", applied, seen)
            if i >= WARMUP:
                latencies.append(max(0.0, seen - applied))
                raw.append(raw_seconds)
                floor.append(floor_seconds)
            # One edit at a time, as people make them, with a pause for the operator's trailing
            # writes of the previous one (throughput is what the fan-out scenario measures).
            time.sleep(PAUSE)
    bench.wait_operator_idle(quiet=1)
    requests = per_operation(requests_before, api_requests(bench), p.changes)
    bench.kube.request("DELETE", CONFIGMAPS.path(RAW_NAMESPACE))  # one collection delete

    commit, base, two = Summary.of(latencies), Summary.of(raw), Summary.of(floor)
    bench.log(
        f"commit: p50 {commit.p50 * 1000:.1f} ms p99 {commit.p99 * 1000:.1f} ms; raw create p50 {base.p50 * 1000:.1f} ms; "
        f"create + write p50 {two.p50 * 1000:.1f} ms"
    )
    rows = [
        Row(
            NAME,
            f"commit latency p50 ({p.changes} changes, {p.flows} flows present)",
            commit.p50,
            "s",
            base.p50,
            "raw create p50",
            "≤ 3× baseline",
            commit.p50 <= 3 * base.p50,
        ),
        Row(NAME, "commit latency p99", commit.p99, "s", base.p99, "raw create p99"),
        Row(NAME, "commit latency p50 vs the two-write floor", commit.p50, "s", two.p50, "create + status-sized write p50"),
        Row(NAME, "commit latency p99 vs the two-write floor", commit.p99, "s", two.p99, "create + status-sized write p99"),
        requests_row(NAME, "operator API requests per commit", requests),
    ]
    details = {
        "document_bytes": size_of(small_flow()),
        "flows_present": len(flows),
        "commit": commit.as_dict(),
        "raw_create": base.as_dict(),
        "create_and_patch": two.as_dict(),
        "warmup": WARMUP,
        "api_requests_per_commit": requests,
    }
    return rows, details


def _raw_create(bench: Bench, i: int, document: str) -> float:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"raw-{i:05d}"}, "data": {"flow.json": document}}
    began = time.monotonic()
    bench.kube.create(CONFIGMAPS, body, RAW_NAMESPACE, metadata_only=True)  # as the operator creates versions
    return time.monotonic() - began


def _two_writes(bench: Bench, i: int, document: str) -> float:
    """The floor of a commit that shows in status: a version-sized create, then a small
    change of the same object written the cheapest way (a PUT naming the resourceVersion
    the create returned; a merge patch costs the API server more). Both answered with
    metadata only."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"floor-{i:05d}"}, "data": {"flow.json": document}}
    began = time.monotonic()
    created = bench.kube.create(CONFIGMAPS, body, RAW_NAMESPACE, metadata_only=True)
    body["metadata"] = {**created["metadata"], "annotations": {"bench/status": f"latestCreatedNumber={i}"}}
    bench.kube.replace(CONFIGMAPS, f"floor-{i:05d}", body, RAW_NAMESPACE, metadata_only=True)
    return time.monotonic() - began
