"""Every API request the operator makes, and each service call it serves, with wall-clock
start and end: with the scenario's own marks (bench/tracing.py) in the same file they
give one timeline per operation. Installed when FLOWOPS_BENCH_TRACE names the file."""

from __future__ import annotations

import functools
import importlib
import threading
import time
from collections.abc import Callable
from typing import Any

# The service each controller's handler calls: one span per call.
SPANS = (
    "flowops.services.flowevents:reconcile",
    "flowops.services.promotions:reconcile",
    "flowops.services.flows:reconcile_locked",
    "flowops.services.flows:_commit",
)


def install(path: str) -> None:
    out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process
    guard = threading.Lock()

    def write(start: float, end: float, kind: str, what: str) -> None:
        with guard:
            out.write(f"{start:.6f} {end:.6f} {kind} {what} {threading.current_thread().name}\n")

    from flowops.kube import client

    request = client.Kube.request

    @functools.wraps(request)
    def traced_request(self: Any, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        began = time.time()
        try:
            return request(self, method, path, *args, **kwargs)
        finally:
            write(began, time.time(), "request", f"{method}:{path.split('?')[0]}")

    client.Kube.request = traced_request  # type: ignore[method-assign]
    _trace_kopf(write)
    for target in SPANS:
        module_name, _, name = target.partition(":")
        module = importlib.import_module(module_name)
        setattr(module, name, _span(getattr(module, name), target, write))


def _span(function: Callable[..., Any], target: str, write: Callable[[float, float, str, str], None]) -> Callable[..., Any]:
    @functools.wraps(function)
    def traced(rt: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        began = time.time()
        try:
            return function(rt, body, *args, **kwargs)
        finally:
            write(began, time.time(), "span", f"{target}:{body['metadata']['name']}")

    return traced


def _trace_kopf(write: Callable[[float, float, str, str], None]) -> None:
    """When Kopf's watch delivers each event, and how long Kopf takes with it: the gap
    between an edit and the handler's service call, taken apart."""
    from kopf._cogs.clients import watching
    from kopf._core.reactor import processing

    watch_objs = watching.watch_objs

    async def traced_watch(*args: Any, **kwargs: Any) -> Any:
        plural = getattr(kwargs.get("resource"), "plural", "?")
        async for event in watch_objs(*args, **kwargs):
            meta = (event.get("object") or {}).get("metadata") or {} if isinstance(event, dict) else {}
            if meta.get("name"):
                now = time.time()
                write(now, now, "kopf", f"received:{plural}:{meta['name']}")
            yield event

    process_event = processing.process_resource_event

    async def traced_process(*args: Any, **kwargs: Any) -> Any:
        name = ((kwargs.get("raw_event") or {}).get("object") or {}).get("metadata", {}).get("name", "?")
        plural = getattr(kwargs.get("resource"), "plural", "?")
        began = time.time()
        try:
            return await process_event(*args, **kwargs)
        finally:
            write(began, time.time(), "kopf", f"process:{plural}:{name}")

    process_changing = processing.process_changing_cause

    async def traced_changing(*args: Any, **kwargs: Any) -> Any:
        cause = kwargs.get("cause")
        name = cause.body.get("metadata", {}).get("name", "?") if cause is not None else "?"
        began = time.time()
        try:
            return await process_changing(*args, **kwargs)
        finally:
            write(began, time.time(), "kopf", f"changing:{name}")

    watching.watch_objs = traced_watch  # type: ignore[assignment]
    processing.process_resource_event = traced_process  # type: ignore[assignment]
    processing.process_changing_cause = traced_changing  # type: ignore[assignment]
