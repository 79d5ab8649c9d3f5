"""Process-wide dependencies of the handlers: the API client, the clock, locks."""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .kube import Kube


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Runtime:
    kube: Kube
    clock: Callable[[], dt.datetime] = utc_now
    # Kopf's in-memory indexes by name, captured at start-up (live views; empty outside the operator).
    indexes: Mapping[str, Any] = field(default_factory=dict)
    # One writer per flow inside this process: the Flow and Promotion handlers both commit.
    _locks: defaultdict[tuple[str, str], threading.Lock] = field(default_factory=lambda: defaultdict(threading.Lock))
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def flow_lock(self, namespace: str, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks[(namespace, name)]


_current: Runtime | None = None


def install(runtime: Runtime) -> Runtime:
    global _current
    _current = runtime
    return runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("flowops runtime is not initialised (operator start-up did not run)")
    return _current
