"""Process memory settings applied before any thread starts."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

from . import envsettings

M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas() -> bool:
    """glibc gives each thread that allocates its own arena (up to 8 per core). Handler and
    fan-out threads parse documents of hundreds of KB, and each arena keeps what it once
    held: fewer arenas, less resident memory (default 2). FLOWOPS_MALLOC_ARENAS=0 keeps
    glibc's default."""
    arenas = envsettings.integer("FLOWOPS_MALLOC_ARENAS")
    name = ctypes.util.find_library("c")
    if arenas <= 0 or not name:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False


def collect_cycles_less_often() -> int:
    """CPython looks for reference cycles every 700 net allocations of containers. A
    restart decodes thousands of Flows (dicts and lists without cycles), and each look walks
    the young objects again. FLOWOPS_GC_THRESHOLD=2000 made a restart of 10,002 flows take
    about a sixth less CPU but hold 36-59 MiB more (benchmarks journal), so it is a choice
    for an operator with memory to spare; unset or 0 keeps CPython's own."""
    threshold = envsettings.integer("FLOWOPS_GC_THRESHOLD")
    if threshold > 0:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)
    return gc.get_threshold()[0]
