"""Process memory settings applied before any thread starts."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(default: int = 2) -> bool:
    """glibc gives each thread that allocates its own arena (up to 8 per core). Handler and
    fan-out threads parse documents of hundreds of KB, and each arena keeps what it once
    held: fewer arenas, less resident memory. FLOWOPS_MALLOC_ARENAS=0 keeps glibc's default."""
    arenas = int(os.environ.get("FLOWOPS_MALLOC_ARENAS", str(default)))
    name = ctypes.util.find_library("c")
    if arenas <= 0 or not name:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        return False
