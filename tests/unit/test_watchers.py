"""handlers.watchers: one Kopf handler per kind calls every function following that kind."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from prometheus_client import REGISTRY

from flowops.handlers import watchers
from flowops.metricshooks import timed


def _count(handler: str, error: str | None = None) -> float:
    name = "flowops_handler_errors_total" if error else "flowops_handler_duration_seconds_count"
    labels = {"handler": handler, **({"error": error} if error else {})}
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_each_watcher_runs_in_order_and_a_failure_does_not_stop_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, Any]] = []
    loop_thread: list[int] = []

    async def first_watcher(type: str, **_: Any) -> None:
        loop_thread.append(threading.get_ident())
        seen.append(("first", type))

    async def broken_watcher(**_: Any) -> None:
        raise RuntimeError("boom")

    def sync_watcher(type: str, **_: Any) -> None:
        seen.append(("sync", threading.get_ident() != loop_thread[0]))

    chain = tuple(timed(w.__name__, w) for w in (first_watcher, broken_watcher, sync_watcher))
    errors_before = _count("broken_watcher", "unexpected")
    calls_before = _count("sync_watcher")
    with caplog.at_level(logging.ERROR):
        asyncio.run(watchers.run_each(chain, {"type": "MODIFIED", "logger": logging.getLogger("unit.watchers")}))

    assert seen == [("first", "MODIFIED"), ("sync", True)]  # the sync one ran off the event loop
    assert "Handler 'broken_watcher' failed with an exception. Will ignore." in caplog.text
    assert _count("broken_watcher", "unexpected") == errors_before + 1
    assert _count("sync_watcher") == calls_before + 1


def test_every_kind_has_one_watching_handler_and_each_former_one_is_called() -> None:
    import kopf

    registry = kopf.get_default_registry()
    watching = [h for h in registry._watching.get_all_handlers() if h.fn.__module__.startswith("flowops.")]
    per_kind: dict[str, int] = {}
    for handler in watching:
        per_kind[handler.selector.any_name] = per_kind.get(handler.selector.any_name, 0) + 1
    assert per_kind == {"flows": 1, "apiclients": 1, "promotions": 1, "environments": 1, "applications": 1, "namespaces": 1}
    names = {w.__name__ for w in watchers.FLOW_WATCHERS}
    assert names == {"observe_flow", "flow_event", "flow_changed"}


def test_namespaces_are_only_watched_never_written() -> None:
    """A changing handler (create, update, delete) would make Kopf patch its progress and
    finalizers onto every namespace of the cluster."""
    import kopf

    registry = kopf.get_default_registry()
    changing = [h for h in registry._changing.get_all_handlers() if h.selector.any_name == "namespaces"]
    watching = [h for h in registry._watching.get_all_handlers() if h.selector.any_name == "namespaces"]
    assert changing == [] and [(h.selector.group, h.selector.version) for h in watching] == [("", "v1")]


def test_no_resume_filter_is_asked_about_an_event_that_is_not_a_resume() -> None:
    """Before it looks at reasons, Kopf asks a kind's changing handlers in the order they
    were registered whether any could match an event, and stops at the first that does: a
    filtered resume handler registered first is asked about every event (its "Resumed"
    line logged on each, its wait registered). Each kind's first handler is unfiltered."""
    import kopf

    registry = kopf.get_default_registry()
    first_per_kind: dict[str, Any] = {}
    filtered_resumes: set[str] = set()
    for handler in registry._changing.get_all_handlers():
        if not handler.fn.__module__.startswith("flowops."):
            continue
        kind = handler.selector.any_name
        first_per_kind.setdefault(kind, handler)
        if handler.initial and handler.when is not None:
            filtered_resumes.add(kind)
    assert filtered_resumes == {"flows", "apiclients", "applications", "promotions"}
    for kind in filtered_resumes:
        first = first_per_kind[kind]
        assert first.when is None and first.reason is not None, f"{kind}: {first.id} is asked about every event"
