"""API server restart with N flows in each of development -> staging -> production: what
the operator does when every watch it holds ends at once, as a control-plane upgrade or
a crash of the API server makes it.

The new API server's watch cache starts from etcd, so a watch resumed from an older
resourceVersion is refused (410 Gone) and Kopf lists that kind again. The operator must
write nothing for that. Measured from the API server's restart: what admission refuses
for 40 s (a policy whose parameters are a custom resource is misconfigured until the new
API server has discovered that kind: kubernetes#124237), asked every 0.2 s by two dry
runs, a Flow change and a ConfigMap create in namespace default; seconds until the
operator has a new watch of every kind and its CPU is quiet again, its CPU seconds and
its requests by verb; then the objects' resourceVersions and the Events against a
snapshot taken before; then a content change must still become a version (the time it
took is reported).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flowops.kube import CONFIGMAPS, FLOWS, ApiError

from .. import population
from ..apicount import api_requests, per_operation
from ..documents import edit_patch
from ..flowwatch import StatusTracker
from ..harness import Bench
from ..report import Row, writes_row
from . import Params, Result
from .restart import count_events, snapshot

NAME = "apiserver restart"
PROBE_SECONDS = 40.0
EDIT_BASE = 4_000_000


def run(bench: Bench, p: Params) -> Result:
    population.ensure_chain(bench, p.flows, p.timeout, clients=p.chain_clients, application_clients=p.application_clients)
    bench.wait_operator_idle(quiet=6)
    assert bench.cluster is not None
    runs = []
    for number in range(1, max(1, p.restarts) + 1):
        before, events_before = snapshot(bench.kube), count_events(bench.kube)
        requests_before, cpu_before = api_requests(bench), bench.cpu_seconds()
        answered_before = api_requests(bench, answered_only=True)
        down = bench.cluster.restart_apiserver()
        flow_probe, configmap_probe = _flow_probe(bench), _configmap_probe(bench)
        watches_back = _watches_back(bench, answered_before, p.timeout)
        quiet = watches_back + bench.wait_operator_idle(quiet=3, timeout=p.timeout)
        cpu = bench.cpu_seconds() - cpu_before
        requests = per_operation(requests_before, api_requests(bench), 1)
        after, events_after = snapshot(bench.kube), count_events(bench.kube)
        writes = sum(1 for k in after.keys() | before.keys() if after.get(k) != before.get(k))
        new_events = max(0, events_after - events_before)
        admission = {"flow": flow_probe.result(), "configmap": configmap_probe.result()}
        committed = _commit_after(bench, number, p.timeout)
        bench.wait_operator_idle(quiet=2, timeout=p.timeout)  # its trailing writes stay out of the next snapshot
        bench.log(
            f"API server restart {number}: ready again after {down:.2f}s; dry-run Flow changes {flow_probe.described()}; "
            f"dry-run ConfigMap creates in default {configmap_probe.described()}; every watch back after {watches_back:.2f}s, "
            f"operator quiet {quiet:.2f}s after (3 s of quiet included), {cpu:.1f} CPU s, "
            f"{requests['total']:,.0f} requests; {writes} writes, {new_events} new events; "
            f"a content change then committed in {committed * 1000:.0f} ms"
        )
        runs.append(
            {
                "apiserver_down_s": down,
                "admission": admission,
                "watches_back_s": watches_back,
                "until_quiet_s": quiet,
                "cpu_seconds": cpu,
                "requests": requests,
                "writes": writes,
                "new_events": new_events,
                "commit_after_s": committed,
            }
        )
    last = runs[-1]
    writes = sum(r["writes"] + r["new_events"] for r in runs)
    objects = f"{p.flows} flows in each of dev → staging → production, {3 * p.chain_clients} ApiClients"
    rows = [
        _refusals_row(runs, "flow", "Flow changes (flowops' own kind)"),
        _refusals_row(runs, "configmap", "ConfigMap creates in namespace default (the rest of the cluster)"),
        writes_row(
            NAME,
            f"writes after the API server restarted ({objects}; {len(runs)} restart(s))",
            writes,
            f"{sum(r['new_events'] for r in runs)} of them Events",
        ),
        Row(
            NAME,
            "operator CPU once the API server was back",
            last["cpu_seconds"],
            "CPU s",
            target="reported (no target)",
            note=f"every watch back {last['watches_back_s']:.1f} s and quiet again {last['until_quiet_s'] - 3:.1f} s after "
            "it was ready (last restart); "
            + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(last["requests"].items()) if k != "total"),
        ),
        Row(
            NAME,
            "a content change committed after the restart",
            last["commit_after_s"],
            "s",
            target="reported (no target)",
            note="from the patch accepted until its version shows in the Flow's status",
        ),
    ]
    return rows, {"runs": runs}


def _watches_back(bench: Bench, before: dict[str, float], timeout: float) -> float:
    """Seconds until the API server has answered a new watch of every kind Kopf watched
    before (attempts refused while it was down do not count). Kopf lists a kind before it
    watches it again: the quiet measure must not end before that work."""
    began = time.monotonic()
    kinds = [k for k in before if k.startswith("kopf watch ")]
    while True:
        now = api_requests(bench, answered_only=True)
        missing = [k.removeprefix("kopf watch ") for k in kinds if now.get(k, 0.0) <= before[k]]
        if not missing:
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"no new watch of {', '.join(missing)} {timeout:.0f}s after the API server restarted")
        time.sleep(0.2)


def _refusals_row(runs: list[dict[str, Any]], target: str, what: str) -> Row:
    refused = [r["admission"][target] for r in runs if r["admission"][target]["refused"]]
    return Row(
        NAME,
        f"restarts after which admission refused dry-run {what}, asked for {PROBE_SECONDS:.0f} s",
        float(len(refused)),
        "count",
        target="reported (no target)",
        note=f"of {len(runs)}"
        + (
            "; refused until "
            + ", ".join(f"{r['refused_until_s']:.1f}" for r in refused)
            + f" s: {refused[0]['first_refusal'][:200]}"
            if refused
            else ""
        ),
    )


class AdmissionProbe:
    """A dry-run write every 0.2 s for PROBE_SECONDS after the API server is ready (a kind's
    discovery is refreshed every 30 s): when admission refused it, and why."""

    def __init__(self, write: Callable[[], object]) -> None:
        self.write, self.began = write, time.monotonic()
        self.probes = 0
        self.refused: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="admission-probe")
        self._thread.start()

    def _run(self) -> None:
        while (at := time.monotonic() - self.began) < PROBE_SECONDS:
            self.probes += 1
            try:
                self.write()
            except ApiError as refused:
                self.refused.append((at, str(refused)))
            time.sleep(0.2)

    def result(self) -> dict[str, Any]:
        self._thread.join()
        times = [at for at, _ in self.refused]
        return {
            "probes": self.probes,
            "refused": len(self.refused),
            "refused_from_s": min(times, default=None),
            "refused_until_s": max(times, default=None),
            "first_refusal": self.refused[0][1] if self.refused else "",
        }

    def described(self) -> str:
        found = self.result()
        if not found["refused"]:
            return f"admitted all {found['probes']}"
        return (
            f"refused {found['refused']} of {found['probes']}, from {found['refused_from_s']:.1f}s to "
            f"{found['refused_until_s']:.1f}s: {found['first_refusal'][:160]}"
        )


def _flow_probe(bench: Bench) -> AdmissionProbe:
    """flowops' own kind: its policies take Environments as parameters."""
    label = {"metadata": {"labels": {"bench/probe": "1"}}}
    return AdmissionProbe(
        lambda: bench.kube.merge_patch(FLOWS, population.flow_name(0), label, population.NAMESPACE, dry_run=True)
    )


def _configmap_probe(bench: Bench) -> AdmissionProbe:
    """What the rest of the cluster writes: a ConfigMap in a namespace flowops has no part in."""
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench-probe"}, "data": {"probe": "1"}}
    return AdmissionProbe(lambda: bench.kube.create(CONFIGMAPS, body, "default", dry_run=True))


def _commit_after(bench: Bench, number: int, timeout: float) -> float:
    """The operator still works: one content change in development becomes a version."""
    flow = population.flow_name(0)
    with StatusTracker(bench.kube, population.NAMESPACE, field_selector=f"metadata.name={flow}") as tracker:
        tracker.watch.wait(lambda: flow in tracker.created, timeout, f"{flow} listed")
        expected = tracker.created[flow] + 1
        bench.kube.merge_patch(FLOWS, flow, edit_patch(EDIT_BASE + number), population.NAMESPACE)
        applied = time.monotonic()
        return tracker.wait_number(flow, expected, timeout) - applied
