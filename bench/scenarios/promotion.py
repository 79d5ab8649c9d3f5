"""Promotion end to end: a Promotion of a large flow -> Succeeded and the target's HEAD moved,
both seen on watches [the peer: a kubectl script doing the same copy: get -o json, transform,
apply; the floor: one GET of the source version and one write of a target Flow from a client
in this process, by the cheapest write there is (a PUT answered with metadata only, its
resourceVersion read before the clock starts); and the same read and write by server-side
apply, as `kubectl apply --server-side` makes it].

The floors are timed twice: until the write returned, and, as the promotion is, until the
write arrives on a watch in this process (a 255 KB Flow reaches a watch 10-20 ms after its
write returns: the API server decodes and re-encodes it). The target is judged on the watch.

Before each repetition the source flow gets a small edit, so every promotion and every
scripted copy moves real content. The two alternate, and each waits until the operator
is done with the previous one, so neither runs in the other's wake.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from typing import Any

from flowops.kube import FLOWS, PROMOTIONS
from flowops.services import versions

from .. import tracing
from ..apicount import api_requests, per_operation, requests_row
from ..documents import edit_patch, edited, flow_object, size_of, sized_flow
from ..flowwatch import StatusTracker
from ..harness import Bench
from ..report import Row
from ..stats import Summary
from ..watch import Watch, Watched
from . import Params, Result

NAME = "2 promotion"
SOURCE_ENV, TARGET_ENV = "bench-dev", "bench-staging"
# The peer and the floor write a Flow directly, which the protected target refuses: they
# write into an unprotected environment on the same control plane instead.
COPY_ENV = "bench-copies"
FLOW, COPY, FLOOR, APPLIED = "signin", "signin-copy", "signin-floor", "signin-applied"
EDIT_BASE = 2_000_000


def run(bench: Bench, p: Params) -> Result:
    bench.start_operator()
    bench.environment(SOURCE_ENV, "Development")
    # Promote now, from HEAD: the time measured is the operator's, not a reviewer's.
    bench.environment(
        TARGET_ENV, "Staging", upstream=SOURCE_ENV, policy={"promotion": {"requireReview": False, "allowHeadSource": True}}
    )
    bench.environment(COPY_ENV, "Development")
    document = sized_flow(p.large_bytes)
    bench.kube.apply(FLOWS, FLOW, flow_object(FLOW, document, SOURCE_ENV), SOURCE_ENV, field_manager="bench")

    promoted: list[float] = []
    scripted: list[float] = []
    floors: list[float] = []
    floors_seen: list[float] = []
    applied: list[float] = []
    applied_seen: list[float] = []
    # The operator's requests from each Promotion's create until it is idle again: what
    # follows the outcome (Kopf's bookkeeping, reports) is part of a promotion's cost.
    requests: dict[str, float] = {}
    with (
        StatusTracker(bench.kube, SOURCE_ENV) as source,
        StatusTracker(bench.kube, TARGET_ENV) as target,
        _PhaseWatch(bench, TARGET_ENV) as phases,
        _Arrivals(bench, COPY_ENV) as copies,
    ):
        floor_writer = _FloorWriter(bench, copies, p.timeout)
        source.wait_number(FLOW, 1, p.timeout)
        for i in range(p.promotions + 1):  # the first of each is a warm-up
            number = source.created.get(FLOW, 0) + 1
            bench.kube.merge_patch(FLOWS, FLOW, edit_patch(EDIT_BASE + i), SOURCE_ENV)
            source.wait_number(FLOW, number, p.timeout)
            bench.wait_operator_idle(quiet=0.5)
            before = api_requests(bench)
            seconds = _promote(bench, phases, target, f"bench-{i:03d}", p.timeout)
            bench.wait_operator_idle(quiet=0.5)
            if i:
                for key, value in per_operation(before, api_requests(bench), 1).items():
                    requests[key] = requests.get(key, 0.0) + value
            script = _script(bench)
            bench.wait_operator_idle(quiet=0.5)
            floor, floor_seen = floor_writer.put(source.ready[FLOW], edited(document, EDIT_BASE + i))
            bench.wait_operator_idle(quiet=0.5)
            apply_floor, apply_seen = _apply_floor(bench, copies, source.ready[FLOW], edited(document, EDIT_BASE + i), p.timeout)
            bench.wait_operator_idle(quiet=0.5)
            if i:
                promoted.append(seconds)
                scripted.append(script)
                floors.append(floor)
                floors_seen.append(floor_seen)
                applied.append(apply_floor)
                applied_seen.append(apply_seen)
    ours, base = Summary.of(promoted), Summary.of(scripted)
    least, least_seen = Summary.of(floors), Summary.of(floors_seen)
    by_apply, by_apply_seen = Summary.of(applied), Summary.of(applied_seen)
    bench.log(
        f"promotion: p50 {ours.p50 * 1000:.0f} ms p99 {ours.p99 * 1000:.0f} ms; kubectl script p50 {base.p50 * 1000:.0f} ms; "
        f"GET + PUT floor p50 {least.p50 * 1000:.0f} ms returned, {least_seen.p50 * 1000:.0f} ms on the watch; "
        f"GET + apply p50 {by_apply.p50 * 1000:.0f} ms returned, {by_apply_seen.p50 * 1000:.0f} ms on the watch"
    )
    rows = [
        Row(
            NAME,
            f"promotion p50 ({size_of(document) // 1024} KB flow, {p.promotions} promotions)",
            ours.p50,
            "s",
            base.p50,
            "kubectl script p50 (the peer)",
            "reported (the floor row has the target)",
        ),
        Row(NAME, "promotion p99", ours.p99, "s", base.p99, "kubectl script p99"),
        Row(
            NAME,
            "promotion p50 vs the floor",
            ours.p50,
            "s",
            least_seen.p50,
            "GET source version + PUT target Flow p50, seen on a watch",
            "≤ 2× floor",
            ours.p50 <= 2 * least_seen.p50,
        ),
        Row(NAME, "promotion p99 vs the floor", ours.p99, "s", least_seen.p99, "same, p99"),
        Row(
            NAME,
            "same p50, against the PUT returned",
            ours.p50,
            "s",
            least.p50,
            "GET source version + PUT target Flow p50, returned",
        ),
        Row(NAME, "same p99, against the PUT returned", ours.p99, "s", least.p99, "same, returned, p99"),
        Row(
            NAME,
            "promotion p50 vs the apply floor",
            ours.p50,
            "s",
            by_apply_seen.p50,
            "GET source version + apply target Flow p50, seen on a watch",
        ),
        Row(NAME, "same p50, against the apply returned", ours.p50, "s", by_apply.p50, "GET + apply p50, returned"),
        requests_row(
            NAME,
            "operator API requests per promotion",
            {key: round(value / max(1, p.promotions), 2) for key, value in sorted(requests.items())},
        ),
    ]
    details = {
        "document_bytes": size_of(document),
        "promotion": ours.as_dict(),
        "kubectl_script": base.as_dict(),
        "floor": least.as_dict(),
        "floor_seen": least_seen.as_dict(),
        "apply_floor": by_apply.as_dict(),
        "apply_floor_seen": by_apply_seen.as_dict(),
        "script": _script_text(bench),
    }
    return rows, details


def _promote(bench: Bench, phases: _PhaseWatch, target: StatusTracker, name: str, timeout: float) -> float:
    body = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Promotion",
        "metadata": {"name": name},
        "spec": {"source": {"environment": SOURCE_ENV, "flow": FLOW, "version": "HEAD"}},
    }
    began = time.monotonic()
    bench.kube.create(PROMOTIONS, body, TARGET_ENV)
    status = phases.watch.wait(lambda: phases.terminal.get(name), timeout, f"promotion {name} finished")
    if status.get("phase") != "Succeeded":
        raise RuntimeError(f"promotion {name} {status.get('phase')}: {status.get('message')}")
    head_at = target.wait_head(FLOW, status["targetVersion"], timeout)
    tracing.mark("promotion", name, began, max(phases.finished_at[name], head_at))
    return max(phases.finished_at[name], head_at) - began


def _script_text(bench: Bench) -> str:
    kubectl = shlex.join(bench.kubectl_command())
    if shutil.which("jq"):
        transform = (
            f"jq -c --arg ns {COPY_ENV} --arg name {COPY} '{{apiVersion, kind, metadata: {{name: $name, namespace: $ns}}, spec}}'"
        )
    else:
        transform = (
            'python3 -c \'import json,sys; o=json.load(sys.stdin); print(json.dumps({"apiVersion": o["apiVersion"], '
            f'"kind": o["kind"], "metadata": {{"name": "{COPY}", "namespace": "{COPY_ENV}"}}, "spec": o["spec"]}}))\''
        )
    return (
        f"set -euo pipefail; {kubectl} get flow {FLOW} -n {SOURCE_ENV} -o json | {transform} "
        f"| {kubectl} apply --server-side --field-manager=promote-script -f -"
    )


class _FloorWriter:
    """The least a promotion must do: read the source version, write the target Flow. The
    write is a PUT, which the API server applies without merging (a patch or an apply of a
    255 KB Flow costs it twice as much). A PUT names the resourceVersion it replaces: that
    and the Flow's metadata are read before the clock starts, so no read of the target counts."""

    def __init__(self, bench: Bench, arrivals: _Arrivals, timeout: float) -> None:
        self.bench, self.arrivals, self.timeout = bench, arrivals, timeout
        self.made = False

    def put(self, head: str, document: dict[str, Any]) -> tuple[float, float]:
        """(until the PUT returned, until it arrived on the watch)."""
        body = flow_object(FLOOR, document, COPY_ENV)
        if not self.made:  # the warm-up round makes the Flow
            self.bench.kube.apply(FLOWS, FLOOR, body, COPY_ENV, field_manager="bench")
            self.made = True
            self.bench.wait_operator_idle(quiet=0.5)
        current = self.bench.kube.get_metadata(FLOWS, FLOOR, COPY_ENV)
        assert current is not None, "made in the warm-up round"
        body["metadata"] = {k: v for k, v in current["metadata"].items() if k != "managedFields"}
        began = time.monotonic()
        versions.get_by_id(self.bench.kube, SOURCE_ENV, FLOW, head)  # FlowVersion names hold numbers; the id is a label
        written = self.bench.kube.replace(FLOWS, FLOOR, body, COPY_ENV, metadata_only=True)
        returned = time.monotonic()
        return returned - began, self.arrivals.wait(FLOOR, written["metadata"]["resourceVersion"], self.timeout) - began


def _apply_floor(bench: Bench, arrivals: _Arrivals, head: str, document: dict[str, Any], timeout: float) -> tuple[float, float]:
    """The same read, and the write as `kubectl apply --server-side` makes it: (until it
    returned, until it arrived on the watch)."""
    body = flow_object(APPLIED, document, COPY_ENV)
    began = time.monotonic()
    versions.get_by_id(bench.kube, SOURCE_ENV, FLOW, head)
    written = bench.kube.apply(FLOWS, APPLIED, body, COPY_ENV, field_manager="bench")
    returned = time.monotonic()
    return returned - began, arrivals.wait(APPLIED, written["metadata"]["resourceVersion"], timeout) - began


def _script(bench: Bench) -> float:
    began = time.monotonic()
    subprocess.run(["bash", "-c", _script_text(bench)], check=True, capture_output=True, timeout=120)
    return time.monotonic() - began


class _PhaseWatch(Watched):
    """Terminal phase of each Promotion in a namespace, and when it arrived."""

    def __init__(self, bench: Bench, namespace: str) -> None:
        self.terminal: dict[str, dict[str, Any]] = {}
        self.finished_at: dict[str, float] = {}
        self.watch = Watch(bench.kube, PROMOTIONS, namespace, self._on_event)

    def _on_event(self, kind: str, obj: dict[str, Any], now: float) -> None:
        status = obj.get("status") or {}
        name = obj["metadata"]["name"]
        if status.get("phase") in ("Succeeded", "Failed") and name not in self.terminal:
            self.terminal[name] = status
            self.finished_at[name] = now


class _Arrivals(Watched):
    """When each write of a Flow in a namespace arrived on a watch, by resourceVersion: the
    floors' writes, seen the way the promotion's outcome and HEAD are seen."""

    def __init__(self, bench: Bench, namespace: str) -> None:
        self.arrived: dict[tuple[str, str], float] = {}
        self.watch = Watch(bench.kube, FLOWS, namespace, self._on_event)

    def _on_event(self, kind: str, obj: dict[str, Any], now: float) -> None:
        meta = obj["metadata"]
        self.arrived.setdefault((meta["name"], meta["resourceVersion"]), now)

    def wait(self, name: str, resource_version: str, timeout: float) -> float:
        self.watch.wait(lambda: (name, resource_version) in self.arrived, timeout, f"Flow {name} at {resource_version}")
        return self.arrived[(name, resource_version)]
