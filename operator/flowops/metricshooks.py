"""Metrics from inside Kopf: handler timings and Kopf's own API requests.

Kopf has no middleware for handler calls, so each registered handler's function is
wrapped once at start-up (the handlers keep their ids, so progress annotations and
deduplication are unchanged). Kopf's requests are seen through an aiohttp trace on the
session the login handler hands to Kopf.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import aiohttp
import kopf

from . import listings, metrics, metricsstate

log = logging.getLogger(__name__)


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, kopf.TemporaryError):
        return "temporary"
    if isinstance(exc, kopf.PermanentError):
        return "permanent"
    return "unexpected"


def timed(handler_id: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    duration = metrics.HANDLER_DURATION.labels(handler_id)

    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(**kwargs: Any) -> Any:
            started = time.monotonic()
            try:
                return await fn(**kwargs)
            except Exception as exc:
                metrics.HANDLER_ERRORS.labels(handler_id, _error_kind(exc)).inc()
                raise
            finally:
                duration.observe(time.monotonic() - started)

        return run_async

    @functools.wraps(fn)
    def run(**kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return fn(**kwargs)
        except Exception as exc:
            metrics.HANDLER_ERRORS.labels(handler_id, _error_kind(exc)).inc()
            raise
        finally:
            duration.observe(time.monotonic() - started)

    return run


def instrument_handlers(registry: kopf.OperatorRegistry | None = None) -> int:
    """Wraps every changing, event and daemon/timer handler; returns how many. Kopf keeps
    handlers in per-kind registries without a public way to replace one, so a Kopf that
    stores them differently is logged and left alone (handler metrics stay empty)."""
    registry = registry or kopf.get_default_registry()
    wrapped: dict[int, Callable[..., Any]] = {}  # one wrapper per function: Kopf deduplicates by it
    count = 0
    for part in ("_changing", "_watching", "_spawning"):
        handlers = getattr(getattr(registry, part, None), "_handlers", None)
        if not isinstance(handlers, list):
            log.warning("handler metrics are off: this Kopf version keeps no %s handler list", part)
            return count
        for index, handler in enumerate(handlers):
            fn = handler.fn
            if id(fn) not in wrapped:
                # Labelled by function: one function registered for several causes (create,
                # update of a field) is one handler to the people reading the metrics.
                wrapped[id(fn)] = timed(getattr(fn, "__name__", str(handler.id)), fn)
            handlers[index] = dataclasses.replace(handler, fn=wrapped[id(fn)])
            count += 1
    return count


class TimedExecutor(ThreadPoolExecutor):
    """The handler thread pool Kopf runs synchronous handlers in, measuring the queue in
    front of it: Kopf's own per-object event queues are private, this one is where work
    piles up when handlers are slower than events arrive."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        queued, started = time.monotonic(), threading.Event()
        metrics.HANDLER_THREADS_WAITING.inc()

        def run() -> Any:
            started.set()
            metrics.HANDLER_THREADS_WAITING.dec()
            metrics.HANDLER_QUEUE_WAIT.observe(time.monotonic() - queued)
            return fn(*args, **kwargs)

        future = super().submit(run)
        future.add_done_callback(lambda _: None if started.is_set() else metrics.HANDLER_THREADS_WAITING.dec())
        return future


LISTS_SWEPT = {("list", plural) for plural in ("environments", "flows", "apiclients", "promotions")}


def kopf_trace() -> aiohttp.TraceConfig:
    """Counts and times every request Kopf makes (watches, patches, events, peering)."""
    trace = aiohttp.TraceConfig()

    async def start(_: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestStartParams) -> None:
        context.started = time.monotonic()

    def record(context: SimpleNamespace, method: str, url: Any, code: int | str) -> None:
        started = getattr(context, "started", None)
        if started is not None:
            metrics.observe_request("kopf", method, url.path, dict(url.query), code, time.monotonic() - started)

    async def end(_: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams) -> None:
        record(context, params.method, params.url, params.response.status)
        query = dict(params.url.query)
        verb, resource = metrics.request_verb(params.method, params.url.path, query)
        if verb == "list":
            listings.note_list_request(resource, query)
        # Kopf (re-)lists a kind the state gauges follow: what was deleted meanwhile is swept.
        if (verb, resource) in LISTS_SWEPT:
            metricsstate.state.listed()

    async def failed(_: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams) -> None:
        record(context, params.method, params.url, "error")

    trace.on_request_start.append(start)
    trace.on_request_end.append(end)
    trace.on_request_exception.append(failed)
    return trace


def traced_session(info: kopf.ConnectionInfo) -> kopf.AiohttpSession:
    """The session Kopf would build from `info`, plus the trace. Call inside the event loop."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ssl=info.as_ssl_context()),
        headers={**info.as_http_headers(), "User-Agent": "flowops-operator (kopf)"},
        proxy=info.proxy_url,
        trust_env=info.trust_env,
        trace_configs=[kopf_trace()],
    )
    return kopf.AiohttpSession(
        server=info.server,
        default_namespace=info.default_namespace,
        priority=info.priority,
        expiration=info.expiration,
        aiohttp_session=session,
    )
