"""A guardrails change over many flows with history: time until the Environment records
the new rules (every flow judged again), and the operator's requests.

Two changes on the same population (N flows, V versions each, only version 1 with a
footer): a rule every version passes (one version judged per flow: the newest), then one
only version 1 passes (every version judged: HEAD is found as far back as it takes). The
floor: the writes the second must make, one metadata patch per version, made by the
benchmark with the operator's parallelism.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flowops.kube import ENVIRONMENTS, FLOWS, FLOWVERSIONS, Kube
from flowops.services.threads import REEVALUATE_THREADS
from flowops.testing.waiting import wait_for

from .. import population
from ..apicount import api_requests, per_operation
from ..harness import Bench
from ..report import Row
from ..versions import VersionTracker
from . import Params, Result

NAME = "rules"
NAMESPACE = "bench-rules"
EVERY_VERSION_PASSES = [{"name": "titled", "expression": "has(content.title)", "message": "add /title"}]
ONLY_THE_FIRST_PASSES = [{"name": "footed", "expression": "has(content.footer)", "message": "add /footer"}]


def _content(number: int) -> dict[str, Any]:
    return {"title": f"version {number}", "n": number, **({"footer": "f"} if number == 1 else {})}


def _populate(bench: Bench, flows: list[str], versions: int, timeout: float) -> None:
    bench.environment(NAMESPACE)
    bench.start_operator()
    with VersionTracker(bench.kube, NAMESPACE) as tracker:
        for number in range(1, versions + 1):
            population.apply_flows(bench, NAMESPACE, flows, _content(number))
            tracker.wait_all(flows, number, timeout)
    bench.log(f"rules: {len(flows)} flows with {versions} versions each")


def _change(bench: Bench, rules: list[dict[str, Any]], flows: list[str], head: int, timeout: float) -> dict[str, Any]:
    """Applies `rules`; waits until the Environment records them and every flow's HEAD is `head`."""
    before = (bench.kube.get(ENVIRONMENTS, NAMESPACE).get("status") or {}).get("guardrailsDigest")
    requests_before = api_requests(bench)
    began = time.monotonic()
    bench.kube.merge_patch(ENVIRONMENTS, NAMESPACE, {"spec": {"policy": {"guardrails": rules}}})
    wait_for(
        lambda: (bench.kube.get(ENVIRONMENTS, NAMESPACE).get("status") or {}).get("guardrailsDigest") not in (None, before),
        timeout=timeout,
        interval=0.05,
        message="the Environment to record its new rules",
    )
    elapsed = time.monotonic() - began
    requests = per_operation(requests_before, api_requests(bench), len(flows))
    heads = {f["metadata"]["name"]: (f.get("status") or {}).get("latestReadyNumber") for f in bench.kube.list(FLOWS, NAMESPACE)}
    wrong = [name for name in flows if heads.get(name) != head]
    assert not wrong, f"HEAD is not version {head} for {len(wrong)} flows, e.g. {wrong[:3]}: {[heads.get(w) for w in wrong[:3]]}"
    return {"seconds": elapsed, "requests_per_flow": requests}


def _floor(bench: Bench, flows: list[str], versions: int) -> float:
    """One metadata patch per version, REEVALUATE_THREADS at a time: what judging every version must write."""
    names = [f"{flow}-{number:05d}" for flow in flows for number in range(1, versions + 1)]
    patch = {"metadata": {"annotations": {"bench.example/touched": str(time.time())}}}
    assert bench.cluster is not None
    # As the operator: nobody else may write FlowVersions (flowops-flowversions-operator-only).
    kube = Kube.from_kubeconfig(str(bench.cluster.kubeconfig), "flowops-operator")
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=REEVALUATE_THREADS) as pool:
        list(pool.map(lambda n: kube.merge_patch(FLOWVERSIONS, n, patch, NAMESPACE, metadata_only=True), names))
    return time.monotonic() - began


def run(bench: Bench, p: Params) -> Result:
    flows = [f"rules-{i:05d}" for i in range(p.flows)]
    _populate(bench, flows, p.versions, p.timeout)
    bench.wait_operator_idle(quiet=3)
    newest = _change(bench, EVERY_VERSION_PASSES, flows, p.versions, p.timeout)
    bench.wait_operator_idle(quiet=3)
    walk = _change(bench, ONLY_THE_FIRST_PASSES, flows, 1, p.timeout)
    bench.wait_operator_idle(quiet=3)
    floor = _floor(bench, flows, p.versions)
    bench.log(
        f"rules: newest judged {newest['seconds']:.1f}s, every version judged {walk['seconds']:.1f}s, "
        f"floor {floor:.1f}s ({len(flows)} flows x {p.versions} versions)"
    )
    scale = f"{len(flows)} flows x {p.versions} versions"
    rows = [
        Row(
            NAME,
            f"rules change, every version judged ({scale}): until the Environment records them",
            walk["seconds"],
            "s",
            floor,
            f"one metadata patch per version, {REEVALUATE_THREADS} at a time (the writes it must make)",
            "reported (no target)",
            None,
        ),
        Row(
            NAME,
            f"rules change, the newest version judged ({scale})",
            newest["seconds"],
            "s",
            walk["seconds"],
            "the same change judging every version",
            "reported (no target)",
            None,
        ),
        Row(
            NAME,
            "operator API requests per flow, every version judged",
            walk["requests_per_flow"]["total"],
            "requests",
            target="reported (no target)",
            note=", ".join(f"{k}: {v}" for k, v in walk["requests_per_flow"].items() if k != "total"),
        ),
    ]
    return rows, {"flows": len(flows), "versions": p.versions, "newest": newest, "every_version": walk, "floor_seconds": floor}
