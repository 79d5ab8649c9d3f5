"""Diagnostics in the operator process: SIGUSR2 logs what holds its memory, SIGUSR1 its asyncio tasks.

Logs RSS before and after a full gc and malloc_trim (memory the allocator keeps but
nothing uses), and how many large dicts are alive (a retained flow document shows up
as its translation catalogues: dicts with hundreds of keys).
"""

from __future__ import annotations

import ctypes
import gc
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def report(*_: Any) -> None:
    before = _rss_mib()
    gc.collect()
    after_gc = _rss_mib()
    large = [o for o in gc.get_objects() if isinstance(o, dict) and len(o) > 200]
    holders: Counter[str] = Counter()
    for obj in large[:50]:
        for ref in gc.get_referrers(obj):
            if ref is not large:
                holders[type(ref).__name__] += 1
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    after_trim = _rss_mib()
    if tracemalloc.is_tracing():
        # Live Python allocations by where they were made (PYTHONTRACEMALLOC=<frames>).
        snapshot = tracemalloc.take_snapshot()
        traced = sum(s.size for s in snapshot.statistics("filename")) / 1024 / 1024
        print(f"memory-probe traced={traced:.1f} MiB", file=sys.stderr)
        for stat in snapshot.statistics("traceback")[:12]:
            print(
                f"memory-probe   {stat.size / 1024:.0f} KiB in {stat.count} blocks: "
                + " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in stat.traceback),
                file=sys.stderr,
            )
    print(
        f"memory-probe rss={before:.1f} after_gc={after_gc:.1f} after_trim={after_trim:.1f} MiB "
        # Live small objects (pymalloc blocks): grows if something keeps documents, whatever RSS does.
        f"live_blocks={sys.getallocatedblocks()} "
        f"large_dicts={len(large)} holders={dict(holders.most_common(8))}",
        file=sys.stderr,
        flush=True,
    )


def tasks(*_: Any) -> None:
    """SIGUSR1: where every asyncio task of the operator is waiting (for a stuck operator)."""
    import asyncio

    loop = asyncio._get_running_loop()
    for task in asyncio.all_tasks(loop) if loop else ():
        frames = task.get_stack(limit=12)
        where = " <- ".join(f"{f.f_code.co_filename.rsplit('/', 2)[-1]}:{f.f_lineno}:{f.f_code.co_name}" for f in frames)
        print(f"task-probe {task.get_name()}: {where}", file=sys.stderr, flush=True)


def install() -> None:
    signal.signal(signal.SIGUSR2, report)
    signal.signal(signal.SIGUSR1, tasks)
