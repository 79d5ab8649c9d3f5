"""Scenario marks for --trace, and the timeline of one operation read back from the file.

The operator writes `start end request METHOD:PATH thread` and `start end span
SERVICE:NAME thread` lines (profiling/request_trace.py); a scenario adds `start end mark
WHAT:NAME -` for each operation it times. `python -m bench.tracing FILE NAME` prints what
happened during the operation named NAME, relative to its start."""

from __future__ import annotations

import os
import sys
import time
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


if __name__ == "__main__":
    print("\n".join(timeline(Path(sys.argv[1]), sys.argv[2])))
