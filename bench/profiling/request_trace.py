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
SPANS = ("flowops.services.flowevents:reconcile", "flowops.services.promotions:reconcile")


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
