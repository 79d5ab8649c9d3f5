"""Process-wide dependencies of the handlers: the API client, the clock, and every piece
of state this process keeps between events (locks, the flow registry, binding marks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from . import envsettings
from .keyedlocks import KeyedLocks
from .kube import Kube
from .services.bindings_concurrency import BindingState
from .services.environmentcounts import CountPublisher
from .services.flowregistry import FlowRegistry
from .services.reconciledviews import ReconciledViews
from .services.recordcache import RecordCache


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    # Each namespace's flows and sync states as the watch last showed them (Environment counts).
    flows: FlowRegistry = field(default_factory=FlowRegistry)
    # Environment counts: written at most once a second per environment, the last ones last.
    counts: CountPublisher = field(default_factory=CountPublisher)
    # Recently reconciled flows' versions: a commit need not list them first.
    records: RecordCache = field(default_factory=lambda: RecordCache(envsettings.integer("FLOWOPS_RECORD_CACHE")))
    # Flow views reconciled to the end here: the late event of the same write is not redone.
    reconciled: ReconciledViews = field(default_factory=ReconciledViews)
    # Binding reconciles: per-object locks and the snapshot sequence.
    bindings: BindingState = field(default_factory=BindingState)

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
