"""Restart with N flows in each of development -> staging -> production: time until the
operator has resumed every Flow (each with an upstream lists versions on both sides for
its sync report), and the writes it issued.

A restart must converge without writing: no new versions, no status rewrites. Writes are
counted as changed resourceVersions of every flowops object (and new Events) between a
snapshot before the stop and one after catch-up. Catch-up is read from the operator's own
log: the time its "Resuming is processed" line for the last Flow was written.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from pathlib import Path
from typing import Any

from flowops.kube import APICLIENTS, ENVIRONMENTS, EVENTS, FLOWS, FLOWVERSIONS, PROMOTIONS, Kube

from .. import population
from ..apicount import api_requests
from ..harness import Bench
from ..report import Row
from . import Params, Result

NAME = "6 restart"
KINDS = (FLOWS, FLOWVERSIONS, ENVIRONMENTS, PROMOTIONS, APICLIENTS)
# Far above the 10 s target: past this the operator is stuck, not slow.
CATCH_UP_LIMIT = 180.0


def run(bench: Bench, p: Params) -> Result:
    population.ensure_chain(bench, p.flows, p.timeout, clients=p.chain_clients)
    bench.wait_operator_idle(quiet=6)
    flows = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in bench.kube.list(FLOWS, metadata_only=True)}
    before = _snapshot(bench.kube)
    events_before = _events(bench.kube)

    bench.stop_operator()
    offset = bench.operator_log.stat().st_size
    started_wall = time.time()
    began = time.monotonic()
    bench.start_operator()
    healthy = time.monotonic() - began
    try:
        caught_up = _wait_resumed(bench.operator_log, offset, flows, started_wall, CATCH_UP_LIMIT)
    except TimeoutError as exc:
        # Say where the operator is waiting rather than only that it is.
        tasks = bench.probe(signal.SIGUSR1, "task-probe")
        raise TimeoutError(f"{exc}; operator tasks: {'; '.join(t.split('task-probe ', 1)[-1] for t in tasks[:40])}") from None
    cpu = bench.cpu_seconds()
    requests = api_requests(bench)  # a fresh process: everything since its start
    bench.wait_operator_idle(quiet=3)
    memory = bench.memory()
    after = _snapshot(bench.kube)
    events_after = _events(bench.kube)

    changed = sorted(k for k in after.keys() & before.keys() if after[k] != before[k])
    created = sorted(after.keys() - before.keys())
    deleted = sorted(before.keys() - after.keys())
    writes = len(changed) + len(created) + len(deleted)
    new_versions = sum(1 for k in created if k[0] == FLOWVERSIONS.plural)
    new_events = max(0, events_after - events_before)
    bench.log(
        f"restart: {len(flows)} flows resumed {caught_up:.2f}s after start (healthy at {healthy:.2f}s); "
        f"{writes} writes, {new_versions} new versions, {new_events} new events"
    )
    rows = [
        Row(
            NAME,
            f"caught up after restart ({len(flows)} flows in dev → staging → production, {len(before)} objects)",
            caught_up,
            "s",
            target="≤ 10 s",
            met=caught_up <= 10,
            note=f"healthy after {healthy:.2f}s",
        ),
        Row(
            NAME,
            "writes issued on restart",
            float(writes + new_events),
            "count",
            target="0 (no spurious versions)",
            met=writes + new_events == 0,
            note=f"{new_versions} new versions, {len(changed)} objects changed, {new_events} events",
        ),
        Row(
            NAME,
            "operator CPU and API requests until caught up",
            cpu,
            "CPU s",
            target="reported (no target)",
            note=f"{sum(requests.values()):,.0f} API requests: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(requests.items())),
        ),
        Row(
            NAME,
            f"RSS after catch-up ({len(flows)} flows, {p.chain_clients} clients per environment)",
            memory.rss_mib,
            "MiB",
            target="reported (no target)",
        ),
    ]
    details = {
        "flows": len(flows),
        "objects": len(before),
        "healthy_s": healthy,
        "caught_up_s": caught_up,
        "changed": [list(k) for k in changed[:20]],
        "created": [list(k) for k in created[:20]],
        "deleted": [list(k) for k in deleted[:20]],
        "new_events": new_events,
        "rss_mib": memory.rss_mib,
        "chain_clients": p.chain_clients,
        "cpu_seconds_to_catch_up": cpu,
        "api_requests_to_catch_up": requests,
    }
    return rows, details


def _snapshot(kube: Kube) -> dict[tuple[str, str, str], str]:
    snapshot = {}
    for resource in KINDS:
        for item in kube.iterate(resource, metadata_only=True):
            meta = item["metadata"]
            snapshot[(resource.plural, meta.get("namespace", ""), meta["name"])] = meta["resourceVersion"]
    return snapshot


def _events(kube: Kube) -> int:
    return sum(1 for _ in kube.iterate(EVENTS, metadata_only=True))


def _wait_resumed(log: Path, offset: int, flows: set[tuple[str, str]], started_wall: float, timeout: float) -> float:
    """Seconds from the start until the last Flow's resume was logged."""
    resumed: dict[tuple[str, str], float] = {}
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
            if ref.get("kind") == "Flow" and str(record.get("message", "")).startswith("Resuming is processed"):
                resumed[(ref.get("namespace", ""), ref.get("name", ""))] = _timestamp(record)
        if flows <= resumed.keys():
            return max(resumed[f] for f in flows) - started_wall
        time.sleep(0.2)
    raise TimeoutError(f"{len(flows - resumed.keys())} of {len(flows)} flows not resumed within {timeout:.0f}s")


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
