"""Scenario marks for --trace, and the timeline of one operation read back from the file.

The operator writes `start end request METHOD:PATH thread` and `start end span
SERVICE:NAME thread` lines (profiling/request_trace.py); a scenario adds `start end mark
WHAT:NAME -` for each operation it times. `python -m bench.tracing FILE NAME` prints what
happened during the operation named NAME, relative to its start; `python -m bench.tracing
FILE --phases commit|promotion` splits every such operation into its requests and the
time between them, as medians: where a figure's milliseconds go."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ENV = "FLOWOPS_BENCH_TRACE"


def mark(what: str, name: str, began_monotonic: float, ended_monotonic: float) -> None:
    """Record one timed operation, if tracing (monotonic times, as the scenarios take them)."""
    path = os.environ.get(ENV)
    if not path:
        return
    offset = time.time() - time.monotonic()
    with open(path, "a") as out:
        out.write(f"{began_monotonic + offset:.6f} {ended_monotonic + offset:.6f} mark {what}:{name} -\n")


def timeline(path: Path, name: str) -> list[str]:
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    marks = [line for line in lines if line[2] == "mark" and line[3].endswith(f":{name}")]
    if not marks:
        return [f"no operation named {name} in {path}"]
    began, ended = float(marks[0][0]), float(marks[0][1])
    out = [f"{marks[0][3]}: {(ended - began) * 1000:.1f} ms"]
    for start, end, kind, what, thread in sorted((line for line in lines if line[2] != "mark"), key=lambda x: float(x[0])):
        if began <= float(start) <= ended:
            s, e = (float(start) - began) * 1000, (float(end) - began) * 1000
            out.append(f"{s:8.1f} → {e:8.1f} ms ({e - s:6.1f})  {kind:7} {what}  [{thread}]")
    return out


Line = list[str]
# One operation's phases: (label, end of the phase) in order, each from the previous end.
Phases = Callable[[str, list[Line]], list[tuple[str, float]]]


def _request(requests: list[Line], methods: str, path_end: str, after: float = 0.0) -> Line:
    """The first request by one of `methods` (e.g. "PUT PATCH") to a path ending so."""
    return next(
        r for r in requests if r[3].split(":", 1)[0] in methods.split() and r[3].endswith(path_end) and float(r[0]) >= after
    )


def _commit_phases(name: str, requests: list[Line]) -> list[tuple[str, float]]:
    flow = name.rsplit("-", 1)[0]
    create = _request(requests, "POST", "/flowversions")
    status = _request(requests, "PUT PATCH", f"/flows/{flow}/status", float(create[1]))
    return [
        ("watch delivery and the operator, to the version create", float(create[0])),
        ("version create", float(create[1])),
        ("in the operator, after the version create", float(status[0])),
        ("Flow status write", float(status[1])),
    ]


def _promotion_phases(name: str, requests: list[Line]) -> list[tuple[str, float]]:
    claim = _request(requests, "PATCH", f"/promotions/{name}/status")
    first = requests[0]
    write = next(
        r for r in requests if r[3].split(":", 1)[0] in ("PUT", "PATCH") and "/flows/" in r[3] and not r[3].endswith("/status")
    )
    create = _request(requests, "POST", "/flowversions", float(write[1]))
    status = next(
        r
        for r in requests
        if r[3].split(":", 1)[0] in ("PUT", "PATCH")
        and "/flows/" in r[3]
        and r[3].endswith("/status")
        and float(r[0]) >= float(create[1])
    )
    done = [r for r in requests if r[3].startswith("PATCH:") and r[3].endswith(f"/promotions/{name}/status")][-1]
    return [
        ("create, watch delivery, Kopf", float(first[0])),
        ("reads and the plan", float(claim[0])),
        ("claim (Promotion status)", float(claim[1])),
        ("in the operator", float(write[0])),
        ("target Flow write", float(write[1])),
        ("in the operator (the commit)", float(create[0])),
        ("version create", float(create[1])),
        ("in the operator, after the version create", float(status[0])),
        ("Flow status write", float(status[1])),
        ("in the operator, after the Flow status", float(done[0])),
        ("Promotion status (Succeeded)", float(done[1])),
    ]


# Each scenario's phases, and how many of its first operations are warm-ups.
PHASES: dict[str, tuple[Phases, int]] = {"commit": (_commit_phases, 5), "promotion": (_promotion_phases, 1)}


def phases(path: Path, what: str) -> list[str]:
    """Median milliseconds of each phase over the operations marked WHAT (warm-ups left
    out), then the rest until the scenario saw the outcome on its watch."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    requests = sorted((line for line in lines if line[2] == "request"), key=lambda x: float(x[0]))
    split, warmups = PHASES[what]
    marks = [line for line in lines if line[2] == "mark" and line[3].startswith(f"{what}:")][warmups:]
    table: dict[str, list[float]] = {}
    for mark in marks:
        began, ended = float(mark[0]), float(mark[1])
        inside = [r for r in requests if began - 0.05 <= float(r[0]) <= ended]
        try:
            steps = split(mark[3].split(":", 1)[1], inside)
        except StopIteration:
            continue  # not the usual path (a retry): left out of the medians
        previous = began
        for label, end in [*steps, ("until the scenario saw it", ended)]:
            table.setdefault(label, []).append(max(0.0, end - previous) * 1000)
            previous = max(previous, end)
        table.setdefault("total", []).append((ended - began) * 1000)
    if not table:
        return [f"no {what} operations in {path}"]
    counted = len(table["total"])
    return [f"{what}: {counted} of {len(marks)} operations, medians"] + [
        f"  {label:50} {statistics.median(values):7.1f} ms" for label, values in table.items()
    ]


if __name__ == "__main__":
    if sys.argv[2] == "--phases":
        print("\n".join(phases(Path(sys.argv[1]), sys.argv[3])))
    else:
        print("\n".join(timeline(Path(sys.argv[1]), sys.argv[2])))
