"""Process-wide dependencies of the handlers: the API client, the clock, locks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from .keyedlocks import KeyedLocks
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
    # (Across processes the API server decides: see services/flows.) Entries go with their
    # last user, so the map does not grow with every flow ever seen.
    flow_locks: KeyedLocks = field(default_factory=KeyedLocks)

    def flow_lock(self, namespace: str, name: str) -> AbstractContextManager[None]:
        return self.flow_locks.hold((namespace, name))


_current: Runtime | None = None


def install(runtime: Runtime) -> Runtime:
    global _current
    _current = runtime
    return runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("flowops runtime is not initialised (operator start-up did not run)")
    return _current
