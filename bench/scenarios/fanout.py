"""Fan-out: N flows in one server-side apply -> every one versioned [the apply alone].

The baseline is the same apply into a namespace while no operator runs, so it is the
API server's own cost of storing N flows; the figure is from the start of the apply
until the last flow's first FlowVersion exists.
"""

from __future__ import annotations

import time

from flowops.kube import FLOWS
from flowops.testing.waiting import wait_for

from .. import population
from ..apicount import api_requests, per_operation, requests_row
from ..documents import size_of, small_flow
from ..harness import Bench
from ..report import Row
from ..versions import VersionTracker
from . import Params, Result

NAME = "4 fan-out"
BASELINE_NAMESPACE = "bench-apply-baseline"


def run(bench: Bench, p: Params) -> Result:
    content = small_flow()
    namespace = population.NAMESPACE if not _has_flows(bench) else "bench-fanout"
    flows = population.names(p.flows)

    bench.stop_operator()
    bench.namespace(BASELINE_NAMESPACE)
    baseline = population.apply_flows(bench, BASELINE_NAMESPACE, flows, content)
    bench.log(f"fan-out baseline: apply of {p.flows} flows alone took {baseline:.2f}s")
    began = time.monotonic()
    # One collection delete: kubectl deletes object by object, throttled on the client.
    bench.kube.request("DELETE", FLOWS.path(BASELINE_NAMESPACE))
    wait_for(
        lambda: not bench.kube.list(FLOWS, BASELINE_NAMESPACE, metadata_only=True),
        timeout=p.timeout,
        message="the baseline flows to be deleted",
    )
    bench.kubectl("delete", "namespace", BASELINE_NAMESPACE, "--wait=false")
    bench.log(f"fan-out baseline flows deleted in {time.monotonic() - began:.1f}s")

    bench.environment(namespace)
    bench.start_operator()
    bench.log(f"operator idle after {bench.wait_operator_idle():.1f}s")
    requests_before = api_requests(bench)
    with VersionTracker(bench.kube, namespace) as tracker:
        began = time.monotonic()
        apply_seconds = population.apply_flows(bench, namespace, flows, content)
        last = tracker.wait_all(flows, 1, p.timeout)
    total = last - began
    # The trailing writes too (per-rule results, Events, the Environment's counts).
    bench.wait_operator_idle(quiet=2)
    requests = per_operation(requests_before, api_requests(bench), p.flows)
    bench.log(f"fan-out: apply {apply_seconds:.2f}s, all {p.flows} versioned after {total:.2f}s")
    met = total <= 10 * baseline
    rows = [
        Row(
            NAME,
            f"{p.flows} flows applied → all versioned",
            total,
            "s",
            baseline,
            "the apply alone",
            "≤ 10× baseline",
            met,
            f"the apply itself took {apply_seconds:.2f}s while the operator worked",
        ),
        requests_row(NAME, "operator API requests per applied flow", requests),
    ]
    details = {
        "flows": p.flows,
        "document_bytes": size_of(content),
        "baseline_apply_s": baseline,
        "apply_with_operator_s": apply_seconds,
        "all_versioned_s": total,
        "api_requests_per_flow": requests,
    }
    return rows, details


def _has_flows(bench: Bench) -> bool:
    try:
        return bool(population.existing(bench))
    except Exception:  # noqa: BLE001 - namespace absent
        return False
