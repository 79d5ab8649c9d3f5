"""Prometheus metrics of the operator: every definition, and one call per thing counted.

Labels are chosen from bounded sets (environments, phases, reasons, rule names, handler
names, verbs, codes); only `flowops_flow_info` (metricsstate.py) has one series per flow.
This module imports nothing from flowops, so any layer may record into it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics, start_http_server

# No `_created` series: they double every counter's series and no alert reads them.
disable_created_metrics()

# Promotions may wait hours for approval: the buckets reach a day.
PROMOTION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400)
HANDLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

BUILD = Info("flowops_build", "The running operator's version.")
VERSIONS_CREATED = Counter(
    "flowops_versions_created",
    "FlowVersions created, by environment, origin and whether the version became HEAD.",
    ["environment", "origin", "head"],
)
GUARDRAIL_FAILURES = Counter(
    "flowops_guardrail_failures",
    "Guardrail rules that failed, on a new version or on a promotion's result.",
    ["environment", "rule", "stage"],
)
PROMOTIONS = Counter(
    "flowops_promotions",
    "Promotions that reached a terminal phase, by target environment, phase and reason.",
    ["environment", "phase", "reason"],
)
PROMOTION_DURATION = Histogram(
    "flowops_promotion_duration_seconds",
    "From a Promotion's creation to its terminal phase (approval wait included).",
    ["environment", "phase"],
    buckets=PROMOTION_BUCKETS,
)
APPROVAL_WAITS = Counter(
    "flowops_promotion_approval_waits",
    "Promotions that stopped to wait for approval, by target environment.",
    ["environment"],
)
HANDLER_DURATION = Histogram(
    "flowops_handler_duration_seconds",
    "Time in each Kopf handler call (reconcile and event handlers).",
    ["handler"],
    buckets=HANDLER_BUCKETS,
)
HANDLER_ERRORS = Counter(
    "flowops_handler_errors",
    "Handler calls that raised: temporary (retried soon), permanent, or unexpected (retried with backoff).",
    ["handler", "error"],
)
HANDLER_THREADS_WAITING = Gauge(
    "flowops_handler_threads_waiting",
    "Synchronous handler calls waiting for a free handler thread (FLOWOPS_MAX_WORKERS).",
)
HANDLER_QUEUE_WAIT = Histogram(
    "flowops_handler_queue_wait_seconds",
    "How long synchronous handler calls waited for a handler thread.",
    buckets=HANDLER_BUCKETS,
)
API_REQUESTS = Counter(
    "flowops_api_requests",
    "Kubernetes API requests, by client (flowops or kopf), verb, resource and response code.",
    ["client", "verb", "resource", "code"],
)
API_REQUEST_DURATION = Histogram(
    "flowops_api_request_duration_seconds",
    "Kubernetes API request latency (watches: until the response starts). "
    "Not by resource, which the request counter has: buckets times resources would be most of the scrape.",
    ["client", "verb"],
    buckets=REQUEST_BUCKETS,
)

# namespace -> environment name, fed from the Environment watch (metricsstate.py).
_environments: dict[str, str] = {}
_environments_lock = threading.Lock()


def set_environment(namespace: str, environment: str | None) -> None:
    with _environments_lock:
        if environment:
            _environments[namespace] = environment
        else:
            _environments.pop(namespace, None)


def environment_of(namespace: str) -> str:
    """The Environment managing `namespace`, or "" when none does (a bounded label)."""
    return _environments.get(namespace, "")


# -- what the services count --------------------------------------------------------------


def _failed_rules(results: Iterable[Any]) -> list[str]:
    """Rule names (set by whoever writes the Environment's policy: a bounded set)."""
    return [str(r.rule) for r in results if not getattr(r, "passed", True)]


def version_created(namespace: str, origin: str, head: bool, results: Iterable[Any] = ()) -> None:
    """`results`: the guardrail results of the new version (domain RuleResult objects)."""
    env = environment_of(namespace)
    VERSIONS_CREATED.labels(env, origin, "true" if head else "false").inc()
    for rule in _failed_rules(results):
        GUARDRAIL_FAILURES.labels(env, rule, "version").inc()


def promotion_checked(namespace: str, results: Sequence[Any]) -> Sequence[Any]:
    """Counts the rules a promotion's resulting document fails; returns the results."""
    env = environment_of(namespace)
    for rule in _failed_rules(results):
        GUARDRAIL_FAILURES.labels(env, rule, "promotion").inc()
    return results


def promotion_finished(promotion: Mapping[str, Any], phase: str, reason: str, now: dt.datetime | None = None) -> None:
    meta = promotion.get("metadata") or {}
    env = environment_of(meta.get("namespace", ""))
    PROMOTIONS.labels(env, phase, reason or f"Promotion{phase}").inc()
    created = parse_time(meta.get("creationTimestamp"))
    if created is not None:
        elapsed = ((now or dt.datetime.now(dt.UTC)) - created).total_seconds()
        PROMOTION_DURATION.labels(env, phase).observe(max(elapsed, 0.0))


def promotion_phase(promotion: Mapping[str, Any], phase: str) -> None:
    """A Promotion entered a non-terminal phase; entering AwaitingApproval is counted."""
    if phase == "AwaitingApproval":
        APPROVAL_WAITS.labels(environment_of((promotion.get("metadata") or {}).get("namespace", ""))).inc()


# -- what the API clients count -----------------------------------------------------------


def request_verb(method: str, path: str, query: Mapping[str, Any] | None) -> tuple[str, str]:
    """(verb, resource) as the API server names them: list/get and deletecollection/delete
    are told apart by whether the path names an object; watch by the query."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return method.lower(), parts[0] if parts else ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    resource = rest[0] if rest else ""
    collection = len(rest) <= 1
    method = method.upper()
    if method == "GET":
        if str((query or {}).get("watch", "")).lower() in ("true", "1"):
            return "watch", resource
        return ("list" if collection else "get"), resource
    if method == "DELETE":
        return ("deletecollection" if collection else "delete"), resource
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower()), resource


def observe_request(
    client: str, method: str, path: str, query: Mapping[str, Any] | None, code: int | str, seconds: float
) -> None:
    verb, resource = request_verb(method, path, query)
    API_REQUESTS.labels(client, verb, resource, str(code)).inc()
    API_REQUEST_DURATION.labels(client, verb).observe(seconds)


@contextmanager
def timed_request(client: str, method: str, path: str, query: Mapping[str, Any] | None = None) -> Iterator[list[int]]:
    """`with timed_request(...) as code: ...; code.append(status)`; no status means the
    connection failed ("error")."""
    code: list[int] = []
    started = time.monotonic()
    try:
        yield code
    finally:
        observe_request(client, method, path, query, code[-1] if code else "error", time.monotonic() - started)


# -- helpers ------------------------------------------------------------------------------


def parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_address(url: str, default_port: int) -> tuple[str, int]:
    """(host, port) of an endpoint given as a URL (`http://0.0.0.0:8081/metrics`) or host:port."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    return parsed.hostname or "0.0.0.0", parsed.port or default_port


def serve(url: str, version: str = "dev") -> tuple[str, int]:
    """Serves the default registry (flowops, process and Python metrics) on its own port."""
    BUILD.info({"version": version})
    host, port = parse_address(url, 8081)
    start_http_server(port, addr=host)
    return host, port
