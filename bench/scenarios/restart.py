"""Restart with N flows in each of development -> staging -> production: time until the
operator has resumed every Flow (each with an upstream lists versions on both sides for
its sync report), every ApiClient and every Application, and the writes it issued.

A restart must converge without writing: no new versions, no status rewrites. Writes are
counted as changed resourceVersions of every flowops object (and new Events) between a
snapshot before the stop and one after catch-up. Catch-up is read from the operator's own
log: the time its "Resuming is processed" line (or, for a flow told idle without a handler,
its "Resumed: ..." line) for the last Flow, ApiClient and Application was written. Meanwhile
its health endpoint is asked as a kubelet's liveness probe would ask it (bench/liveness.py).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flowops.kube import APICLIENTS, APPLICATIONS, ENVIRONMENTS, EVENTS, FLOWS, FLOWVERSIONS, PROMOTIONS, Kube
from flowops.services import applications_resume, bindings_resume, flowevents
from flowops.testing.waiting import wait_for

from .. import population
from ..apicount import api_requests, requests_row
from ..harness import Bench
from ..liveness import PROBE_TIMEOUT, LivenessWatch
from ..report import Row, writes_row
from . import Params, Result
from .memory import held_documents

NAME = "6 restart"
KINDS = (FLOWS, FLOWVERSIONS, ENVIRONMENTS, PROMOTIONS, APICLIENTS, APPLICATIONS)
# Far above the 10 s target: past this the operator is stuck, not slow (a scale run
# with ten thousand flows gets proportionally longer).
CATCH_UP_LIMIT = 180.0
CATCH_UP_SECONDS_PER_FLOW = 0.05


def _inheriting(p: Params) -> str:
    inheriting = 3 * min(p.application_clients, p.chain_clients)
    return f" ({inheriting} of them from an Application)" if inheriting else ""


def run(bench: Bench, p: Params) -> Result:
    set_up = population.ensure_chain(
        bench, p.flows, p.timeout, clients=p.chain_clients, application_clients=p.application_clients
    )
    bench.wait_operator_idle(quiet=6)
    resumable = _names(bench.kube, FLOWS) | _names(bench.kube, APICLIENTS) | _names(bench.kube, APPLICATIONS)
    without_history: dict[str, Any] | None = None
    if p.finished_promotions:
        without_history = _restart(bench, resumable, 0, p.restarts)
        _add_finished_promotions(bench, p.finished_promotions, p.timeout)
    runs = [_restart(bench, resumable, i + 1, p.restarts) for i in range(max(1, p.restarts))]
    caught_up = statistics.median(r["caught_up_s"] for r in runs)
    flows_only = statistics.median(r["flows_caught_up_s"] for r in runs)
    cpu = statistics.median(r["cpu_seconds_to_catch_up"] for r in runs)
    writes = sum(r["writes"] + r["new_events"] for r in runs)
    new_versions = sum(r["new_versions"] for r in runs)
    changed = sum(len(r["changed"]) for r in runs)
    new_events = sum(r["new_events"] for r in runs)
    last = runs[-1]
    requests = last["api_requests_to_catch_up"]
    each = f" (median of {len(runs)}: " + ", ".join(f"{r['caught_up_s']:.2f}" for r in runs) + ")" if len(runs) > 1 else ""
    rows = [
        Row(
            NAME,
            f"caught up after restart ({last['flows']} flows in dev → staging → production, "
            f"{last['clients']} ApiClients{_inheriting(p)}, {last['applications']} Applications, {last['objects']} objects)",
            caught_up,
            "s",
            target="≤ 10 s",
            met=caught_up <= 10,
            note=f"every Flow, ApiClient and Application resumed; told idle without a handler: {last['flows_told_idle']} "
            f"Flows, {last['clients_told_idle']} ApiClients, {last['applications_told_idle']} Applications (last restart); "
            f"healthy after {last['healthy_s']:.2f}s, "
            f"the last Flow resumed after {flows_only:.2f}s (median){each}",
        ),
        writes_row(
            NAME,
            "writes issued on restart",
            writes,
            f"{new_versions} new versions, {changed} objects changed, {new_events} events",
            target="0 (no spurious versions)",
        ),
        Row(
            NAME,
            "operator CPU and API requests until caught up",
            cpu,
            "CPU s",
            target="reported (no target)",
            note=f"{sum(requests.values()):,.0f} API requests: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(requests.items()))
            + (" (last restart)" if len(runs) > 1 else ""),
        ),
        Row(
            NAME,
            "slowest liveness answer while catching up",
            max(r["liveness_slowest_s"] for r in runs),
            "s",
            target="reported (no target)",
            note=f"/healthz asked once a second, {PROBE_TIMEOUT:.0f} s allowed as the Deployment's probes: "
            f"{sum(r['liveness_answers'] for r in runs)} answers, {sum(r['liveness_failures'] for r in runs)} failed",
        ),
        Row(
            NAME,
            f"RSS after catch-up ({last['flows']} flows, {p.chain_clients} clients per environment)",
            last["rss_mib"],
            "MiB",
            target="reported (no target)",
            note=f"peak (VmHWM) {last['peak_rss_mib']:.0f} MiB; after gc and malloc_trim "
            f"{last['rss_after_trim_mib'] or 0:.0f} MiB (the rest is memory the allocator keeps)",
        ),
    ]
    if without_history is not None:
        before = without_history["api_requests_to_catch_up"]
        rows.append(
            Row(
                NAME,
                f"caught up with {p.finished_promotions:,} finished Promotions present",
                caught_up,
                "s",
                without_history["caught_up_s"],
                "the same restart without them",
                "reported (no target)",
                note=f"operator CPU {cpu:.1f} s vs {without_history['cpu_seconds_to_catch_up']:.1f} s; "
                f"API requests {sum(requests.values()):,.0f} vs {sum(before.values()):,.0f}",
            )
        )
    if set_up is not None:
        rows.append(
            requests_row(
                NAME,
                f"operator requests per new ApiClient ({set_up['clients']} created{_inheriting(p)}, "
                f"bound {set_up['bound_s']:.1f} s after the first create)",
                set_up["requests_per_client"],
            )
        )
    return rows, {
        "chain_clients": p.chain_clients,
        "clients_set_up": set_up,
        "restarts": runs,
        "without_history": without_history,
        **last,
    }


def _add_finished_promotions(bench: Bench, count: int, timeout: float) -> None:
    """`count` Promotions into staging that the operator refuses (their source flows do not
    exist), across 1,000 flow names so no flow's history limit prunes them: what a cluster
    holds after months of promotions, each handled and finished."""
    began = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: bench.kube.create(PROMOTIONS, _refused_promotion(i), population.STAGING), range(count)))
    wait_for(
        lambda: (
            sum(
                1
                for item in bench.kube.iterate(PROMOTIONS, population.STAGING)
                if (item.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            )
            >= count
        ),
        timeout=timeout,
        interval=1.0,
        message=f"{count} finished Promotions",
    )
    bench.wait_operator_idle(quiet=6)
    bench.log(f"restart: {count} finished Promotions present after {time.monotonic() - began:.1f}s")


def _refused_promotion(i: int) -> dict[str, Any]:
    return {
        "apiVersion": PROMOTIONS.api_version,
        "kind": PROMOTIONS.kind,
        "metadata": {"name": f"history-{i:06d}"},
        "spec": {
            "source": {"environment": population.NAMESPACE, "flow": f"retired-{i % 1000:04d}", "version": "1"},
            "review": True,
        },
    }


def _names(kube: Kube, resource: Any) -> set[tuple[str, str, str]]:
    return {(resource.kind, i["metadata"]["namespace"], i["metadata"]["name"]) for i in kube.list(resource, metadata_only=True)}


def _restart(bench: Bench, resumable: set[tuple[str, str, str]], number: int, of: int) -> dict[str, Any]:
    """One stop and start of the operator, measured; the population is left as it was."""
    before = snapshot(bench.kube)
    events_before = count_events(bench.kube)

    bench.stop_operator()
    offset = bench.operator_log.stat().st_size
    started_wall = time.time()
    began = time.monotonic()
    operator = bench.start_operator()
    healthy = time.monotonic() - began
    try:
        limit = max(CATCH_UP_LIMIT, CATCH_UP_SECONDS_PER_FLOW * len(resumable))
        with LivenessWatch(operator) as liveness:
            resumed, idle = _wait_resumed(bench.operator_log, offset, resumable, started_wall, limit)
    except TimeoutError as exc:
        # Say where the operator is waiting rather than only that it is.
        tasks = bench.probe(signal.SIGUSR1, "task-probe")
        raise TimeoutError(f"{exc}; operator tasks: {'; '.join(t.split('task-probe ', 1)[-1] for t in tasks[:40])}") from None
    cpu = bench.cpu_seconds()
    requests = api_requests(bench)  # a fresh process: everything since its start
    bench.wait_operator_idle(quiet=3)
    settled = api_requests(bench)  # the clients' resumes may go on after the last Flow's
    memory = bench.memory()
    held = held_documents(bench)
    after = snapshot(bench.kube)
    events_after = count_events(bench.kube)

    changed = sorted(k for k in after.keys() & before.keys() if after[k] != before[k])
    created = sorted(after.keys() - before.keys())
    deleted = sorted(before.keys() - after.keys())
    writes = len(changed) + len(created) + len(deleted)
    new_versions = sum(1 for k in created if k[0] == FLOWVERSIONS.plural)
    new_events = max(0, events_after - events_before)
    flows, clients, applications = (sum(1 for k, _, _ in resumable if k == r.kind) for r in (FLOWS, APICLIENTS, APPLICATIONS))
    idle_flows, idle_clients, idle_applications = (
        sum(1 for k, _, _ in idle if k == r.kind) for r in (FLOWS, APICLIENTS, APPLICATIONS)
    )
    caught_up, flows_caught_up = max(resumed.values()), max(t for (kind, _, _), t in resumed.items() if kind == FLOWS.kind)
    bench.log(
        f"restart {number}/{of}: {flows} flows resumed {flows_caught_up:.2f}s after start, "
        f"and with the {clients} ApiClients and {applications} Applications {caught_up:.2f}s (healthy at {healthy:.2f}s), "
        f"told idle: {idle_flows} flows, {idle_clients} clients, {idle_applications} applications; "
        f"load {os.getloadavg()[0]:.2f}; {cpu:.1f} CPU s, {sum(requests.values()):,.0f} API requests "
        f"({sum(settled.values()):,.0f} once idle); "
        f"{writes} writes, {new_versions} new versions, {new_events} new events; "
        f"liveness answered {len(liveness.answers)} times, slowest {liveness.slowest:.2f}s, {liveness.failures} failed"
    )
    return {
        "flows": flows,
        "clients": clients,
        "applications": applications,
        "flows_told_idle": idle_flows,
        "clients_told_idle": idle_clients,
        "applications_told_idle": idle_applications,
        "objects": len(before),
        "healthy_s": healthy,
        "liveness_answers": len(liveness.answers),
        "liveness_slowest_s": liveness.slowest,
        "liveness_failures": liveness.failures,
        "caught_up_s": caught_up,
        "flows_caught_up_s": flows_caught_up,
        "load_average": list(os.getloadavg()),
        "writes": writes,
        "new_versions": new_versions,
        "changed": [list(k) for k in changed[:20]],
        "created": [list(k) for k in created[:20]],
        "deleted": [list(k) for k in deleted[:20]],
        "new_events": new_events,
        "rss_mib": memory.rss_mib,
        "peak_rss_mib": memory.peak_mib,
        "rss_after_trim_mib": held.get("after_trim"),
        "cpu_seconds_to_catch_up": cpu,
        "api_requests_to_catch_up": requests,
        "api_requests_once_idle": settled,
    }


def snapshot(kube: Kube) -> dict[tuple[str, str, str], str]:
    versions = {}
    for resource in KINDS:
        for item in kube.iterate(resource, metadata_only=True):
            meta = item["metadata"]
            versions[(resource.plural, meta.get("namespace", ""), meta["name"])] = meta["resourceVersion"]
    return versions


def count_events(kube: Kube) -> int:
    return sum(1 for _ in kube.iterate(EVENTS, metadata_only=True))


def _wait_resumed(
    log: Path, offset: int, objects: set[tuple[str, str, str]], started_wall: float, timeout: float
) -> tuple[dict[tuple[str, str, str], float], set[tuple[str, str, str]]]:
    """Seconds from the start until each object's (kind, namespace, name) resume was logged,
    and the objects told idle without a handler."""
    resumed: dict[tuple[str, str, str], float] = {}
    idle: set[tuple[str, str, str]] = set()
    deadline = time.monotonic() + timeout
    position = offset
    partial = b""
    while time.monotonic() < deadline:
        with log.open("rb") as fh:
            fh.seek(position)
            chunk = fh.read()
            position += len(chunk)
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        for line in lines:
            record = _record(line)
            ref = record.get("object") or {}
            key = (str(ref.get("kind", "")), str(ref.get("namespace", "")), str(ref.get("name", "")))
            message = str(record.get("message", ""))
            if key in objects and _resumed(message):
                resumed[key] = _timestamp(record) - started_wall
                if message in IDLE_MESSAGES:
                    idle.add(key)
        if objects <= resumed.keys():
            return {key: resumed[key] for key in objects}, idle
        time.sleep(0.2)
    missing = objects - resumed.keys()
    raise TimeoutError(f"{len(missing)} of {len(objects)} objects not resumed within {timeout:.0f}s (e.g. {sorted(missing)[:3]})")


IDLE_MESSAGES = (flowevents.RESUMED_IDLE, bindings_resume.RESUMED_IDLE, applications_resume.RESUMED_IDLE)


def _resumed(message: str) -> bool:
    """Resumed in a handler, or told idle from memory (no handler ran)."""
    return message.startswith("Resuming is processed") or message in IDLE_MESSAGES


def _record(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _timestamp(record: dict[str, Any]) -> float:
    value = record.get("timestamp")
    try:
        return dt.datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return time.time()
