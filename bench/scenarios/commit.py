"""Commit latency: a content change -> its FlowVersion exists and the Flow's status says so.

N flows are present. Each change is a small merge patch of a different flow, made 0.2 s
after the previous one was committed; the clock
starts when the API server has accepted the patch and stops when the status carrying
the new version arrives on a watch. Two baselines, interleaved with the changes so that
all see the same load: a raw create of a ConfigMap holding the same document, and the
floor of a commit that shows in status: that create followed by a small write of the same
object (a version is written, then the status that names it). Each baseline is timed twice:
until its last write returned (the stricter floor) and, as the commit is, until it arrives
on a watch (in a process of its own: bench/mapwatch.py).
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
from ..mapwatch import ConfigMapVersions
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
    raw_seen: list[float] = []
    floor_seen: list[float] = []
    requests_before: dict[str, float] = {}
    with (
        StatusTracker(bench.kube, namespace) as tracker,
        ConfigMapVersions(bench.cluster.kubeconfig, "flowops-admin", [RAW_NAMESPACE]) as maps,
    ):
        for i in range(WARMUP + p.changes):
            if i == WARMUP:
                requests_before = api_requests(bench)
            raw_seconds, raw_seen_seconds = _raw_create(bench, i, document, maps, p.timeout)
            floor_seconds, floor_seen_seconds = _two_writes(bench, i, document, maps, p.timeout)
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
                raw_seen.append(raw_seen_seconds)
                floor_seen.append(floor_seen_seconds)
            # One edit at a time, as people make them, with a pause for the operator's trailing
            # writes of the previous one (throughput is what the fan-out scenario measures).
            time.sleep(PAUSE)
    bench.wait_operator_idle(quiet=1)
    requests = per_operation(requests_before, api_requests(bench), p.changes)
    bench.kube.request("DELETE", CONFIGMAPS.path(RAW_NAMESPACE))  # one collection delete

    commit, base, two = Summary.of(latencies), Summary.of(raw), Summary.of(floor)
    base_seen, two_seen = Summary.of(raw_seen), Summary.of(floor_seen)
    bench.log(
        f"commit: p50 {commit.p50 * 1000:.1f} ms p99 {commit.p99 * 1000:.1f} ms; raw create p50 {base.p50 * 1000:.1f} ms "
        f"returned, {base_seen.p50 * 1000:.1f} ms on the watch; create + write p50 {two.p50 * 1000:.1f} ms returned, "
        f"{two_seen.p50 * 1000:.1f} ms on the watch"
    )
    rows = [
        # Judged as propagation is: both clocks stop when a watch shows the result.
        Row(
            NAME,
            f"commit latency p50 ({p.changes} changes, {p.flows} flows present)",
            commit.p50,
            "s",
            base_seen.p50,
            "raw create p50, seen on a watch",
            "≤ 3× baseline",
            commit.p50 <= 3 * base_seen.p50,
        ),
        Row(NAME, "commit latency p99", commit.p99, "s", base_seen.p99, "raw create p99, seen on a watch"),
        Row(NAME, "same p50, against the create returned", commit.p50, "s", base.p50, "raw create p50, returned"),
        Row(NAME, "same p99, against the create returned", commit.p99, "s", base.p99, "raw create p99, returned"),
        Row(
            NAME,
            "commit latency p50 vs the two-write floor",
            commit.p50,
            "s",
            two_seen.p50,
            "create + status-sized write p50, seen on a watch",
        ),
        Row(NAME, "commit latency p99 vs the two-write floor", commit.p99, "s", two_seen.p99, "same, p99"),
        Row(NAME, "same p50, against the writes returned", commit.p50, "s", two.p50, "create + status-sized write p50, returned"),
        requests_row(NAME, "operator API requests per commit", requests),
    ]
    details = {
        "document_bytes": size_of(small_flow()),
        "flows_present": len(flows),
        "commit": commit.as_dict(),
        "raw_create": base.as_dict(),
        "raw_create_seen": base_seen.as_dict(),
        "create_and_patch": two.as_dict(),
        "create_and_patch_seen": two_seen.as_dict(),
        "warmup": WARMUP,
        "api_requests_per_commit": requests,
    }
    return rows, details


def _raw_create(bench: Bench, i: int, document: str, maps: ConfigMapVersions, timeout: float) -> tuple[float, float]:
    """One version-sized create: (until it returned, until it arrived on the watch)."""
    name = f"raw-{i:05d}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"flow.json": document, "version": "1"}}
    began = time.monotonic()
    bench.kube.create(CONFIGMAPS, body, RAW_NAMESPACE, metadata_only=True)  # as the operator creates versions
    returned = time.monotonic()
    seen = maps.wait(lambda: maps.all_at(RAW_NAMESPACE, [name], "1"), timeout, f"ConfigMap {name}")
    return returned - began, seen - began


def _two_writes(bench: Bench, i: int, document: str, maps: ConfigMapVersions, timeout: float) -> tuple[float, float]:
    """The floor of a commit that shows in status: a version-sized create, then a small
    change of the same object written the cheapest way (a PUT naming the resourceVersion
    the create returned; a merge patch costs the API server more). Both answered with
    metadata only. (Until the second write returned, until it arrived on the watch.)"""
    name = f"floor-{i:05d}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"flow.json": document, "version": "1"}}
    began = time.monotonic()
    created = bench.kube.create(CONFIGMAPS, body, RAW_NAMESPACE, metadata_only=True)
    body["metadata"] = {**created["metadata"], "annotations": {"bench/status": f"latestCreatedNumber={i}"}}
    body["data"] = {**body["data"], "version": "2"}
    bench.kube.replace(CONFIGMAPS, name, body, RAW_NAMESPACE, metadata_only=True)
    returned = time.monotonic()
    seen = maps.wait(lambda: maps.all_at(RAW_NAMESPACE, [name], "2"), timeout, f"ConfigMap {name} rewritten")
    return returned - began, seen - began
