"""Metrics: verbs as the API server names them, what the services count, the state gauges,
handler instrumentation, and endpoint ports."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from typing import Any

import kopf
import pytest
from prometheus_client import REGISTRY

from flowops import endpoints, metrics, metricshooks
from flowops.domain.guardrails.model import RuleResult
from flowops.metricsstate import State, StateCollector


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/apis/flowops.io/v1alpha1/namespaces/dev/flows", None, ("list", "flows")),
        ("GET", "/apis/flowops.io/v1alpha1/namespaces/dev/flows", {"watch": "true"}, ("watch", "flows")),
        ("GET", "/apis/flowops.io/v1alpha1/namespaces/dev/flows/signin", None, ("get", "flows")),
        ("PATCH", "/apis/flowops.io/v1alpha1/namespaces/dev/flows/signin/status", None, ("patch", "flows")),
        ("GET", "/apis/flowops.io/v1alpha1/environments", {"limit": 1}, ("list", "environments")),
        ("GET", "/apis/flowops.io/v1alpha1/environments/prod", None, ("get", "environments")),
        ("POST", "/api/v1/namespaces/dev/events", None, ("create", "events")),
        ("PUT", "/api/v1/namespaces/dev/configmaps/web-flow", None, ("update", "configmaps")),
        ("DELETE", "/apis/flowops.io/v1alpha1/namespaces/dev/flowversions/a-1", None, ("delete", "flowversions")),
        ("DELETE", "/apis/flowops.io/v1alpha1/namespaces/dev/flowversions", None, ("deletecollection", "flowversions")),
        ("GET", "/api/v1/namespaces", None, ("list", "namespaces")),
        ("GET", "/api/v1/namespaces/dev", None, ("get", "namespaces")),
        ("GET", "/apis", None, ("list", "")),  # discovery
    ],
)
def test_request_verbs(method: str, path: str, query: Any, expected: tuple[str, str]) -> None:
    assert metrics.request_verb(method, path, query) == expected


def test_timed_request_counts_codes_and_connection_failures() -> None:
    path = "/apis/flowops.io/v1alpha1/namespaces/x/promotions/p"
    before = value("flowops_api_requests_total", client="test", verb="get", resource="promotions", code="404")
    with metrics.timed_request("test", "GET", path) as code:
        code.append(404)
    with pytest.raises(ConnectionError):
        with metrics.timed_request("test", "GET", path):
            raise ConnectionError
    assert value("flowops_api_requests_total", client="test", verb="get", resource="promotions", code="404") == before + 1
    assert value("flowops_api_requests_total", client="test", verb="get", resource="promotions", code="error") >= 1


def test_versions_and_guardrail_failures_by_environment_and_rule() -> None:
    metrics.set_environment("unit-dev", "unit-development")
    results = [RuleResult("fields-exist", True), RuleResult("password-kept", False), RuleResult("custom-x", False)]
    metrics.version_created("unit-dev", "Commit", False, results)
    metrics.version_created("unit-dev", "Commit", True, [])
    assert value("flowops_versions_created_total", environment="unit-development", origin="Commit", head="false") == 1
    assert value("flowops_versions_created_total", environment="unit-development", origin="Commit", head="true") == 1
    assert value("flowops_guardrail_failures_total", environment="unit-development", rule="password-kept", stage="version") == 1
    assert value("flowops_guardrail_failures_total", environment="unit-development", rule="fields-exist", stage="version") == 0
    # A namespace no Environment manages: one "" label, never the namespace's name.
    metrics.version_created("unit-unmanaged", "Commit", True)
    assert value("flowops_versions_created_total", environment="", origin="Commit", head="true") >= 1


def test_promotion_outcomes_and_duration_from_creation() -> None:
    metrics.set_environment("unit-prod", "unit-production")
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    promotion = {"metadata": {"namespace": "unit-prod", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    metrics.promotion_finished(promotion, "Succeeded", "PromotionSucceeded", now=created + dt.timedelta(seconds=3))
    metrics.promotion_finished(promotion, "Failed", "GuardrailsFailed", now=created + dt.timedelta(hours=2))
    metrics.promotion_phase(promotion, "Running")
    metrics.promotion_phase(promotion, "AwaitingApproval")
    assert value("flowops_promotions_total", environment="unit-production", phase="Succeeded", reason="PromotionSucceeded") == 1
    assert value("flowops_promotions_total", environment="unit-production", phase="Failed", reason="GuardrailsFailed") == 1
    assert value("flowops_promotion_duration_seconds_sum", environment="unit-production", phase="Failed") == 7200
    assert value("flowops_promotion_duration_seconds_bucket", environment="unit-production", phase="Succeeded", le="5.0") == 1
    assert value("flowops_promotion_approval_waits_total", environment="unit-production") == 1


def _flow(
    ns: str,
    name: str,
    head: str = "",
    sync: str | None = None,
    ready: str = "True",
    generation: int = 1,
    observed: int | None = 1,
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "latestReadyVersion": head or None,
        "latestReadyNumber": 1 if head else None,
        "observedGeneration": observed,
        "conditions": [{"type": "Ready", "status": ready}],
    }
    if sync:
        status["sync"] = {"state": sync}
    return {"metadata": {"namespace": ns, "name": name, "generation": generation}, "status": status}


def _env(name: str, ns: str, upstream: str = "", tier: str = "Development") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"namespace": ns, "upstream": upstream, "tier": tier}}


def _samples(collector: StateCollector) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {family.name: [(s.labels, s.value) for s in family.samples] for family in collector.collect()}


def test_state_gauges_count_flows_by_sync_and_readiness_with_not_promoted() -> None:
    state = State(flow_info_limit=100)
    state.observe_environment(_env("dev", "s-dev"), deleted=False)
    state.observe_environment(_env("prod", "s-prod", upstream="dev", tier="Production"), deleted=False)
    for name in ("a", "b", "c"):
        state.observe_flow(_flow("s-dev", name, head="1"), deleted=False)
    state.observe_flow(_flow("s-prod", "a", head="9", sync="InSync"), deleted=False)
    state.observe_flow(_flow("s-prod", "b", head="8", sync="OutOfSync", ready="False"), deleted=False)
    samples = _samples(StateCollector(state))
    flows = {(lb["environment"], lb["sync"], lb["ready"]): v for lb, v in samples["flowops_flows"]}
    assert flows == {
        ("dev", "NoUpstream", "True"): 3,
        ("prod", "InSync", "True"): 1,
        ("prod", "OutOfSync", "False"): 1,
        ("prod", "NotPromoted", ""): 1,
    }
    envs = {lb["environment"]: lb for lb, _ in samples["flowops_environment_info"]}
    assert envs["prod"] == {
        "environment": "prod",
        "namespace": "s-prod",
        "tier": "Production",
        "upstream": "dev",
        "protected": "true",
    }
    assert envs["dev"]["protected"] == "false"
    info = samples["flowops_flow_info"]
    assert len(info) == 5
    assert info[0][0]["environment"] == "prod"  # production first
    state.observe_flow(_flow("s-prod", "b", head="8"), deleted=True)
    flows = {(lb["environment"], lb["sync"]): v for lb, v in _samples(StateCollector(state))["flowops_flows"]}
    assert flows[("prod", "NotPromoted")] == 2


def test_flow_info_is_one_series_per_flow_and_capped() -> None:
    state = State(flow_info_limit=3)
    state.observe_environment(_env("dev", "c-dev"), deleted=False)
    for i in range(5):
        for head in ("1", "2", "3"):  # HEAD moves: labels replaced, never accumulated
            state.observe_flow(_flow("c-dev", f"f{i}", head=head), deleted=False)
    samples = _samples(StateCollector(state))
    assert len(samples["flowops_flow_info"]) == 3
    assert {lb["head_version"] for lb, _ in samples["flowops_flow_info"]} == {"3"}
    assert samples["flowops_flow_info_omitted"] == [({}, 2.0)]


def test_promotions_waiting_and_backlog() -> None:
    state = State()
    state.observe_environment(_env("prod", "w-prod", tier="Production"), deleted=False)
    old = {
        "metadata": {"namespace": "w-prod", "name": "p1", "generation": 1, "creationTimestamp": "2020-01-01T00:00:00Z"},
        "status": {"phase": "AwaitingApproval", "observedGeneration": 1},
    }
    fresh = {"metadata": {"namespace": "w-prod", "name": "p2", "generation": 1, "creationTimestamp": "2099-01-01T00:00:00Z"}}
    state.observe_promotion(old, deleted=False)
    state.observe_promotion(fresh, deleted=False)
    state.observe_flow(_flow("w-prod", "x", generation=2, observed=1), deleted=False)
    samples = _samples(StateCollector(state))
    phases = {lb["phase"]: v for lb, v in samples["flowops_promotions_non_terminal"]}
    assert phases == {"AwaitingApproval": 1, "Pending": 1}
    [(labels, age)] = samples["flowops_promotions_awaiting_approval_oldest_seconds"]
    assert labels == {"environment": "prod"} and age > 365 * 86400
    backlog = {lb["kind"]: v for lb, v in samples["flowops_reconcile_backlog"]}
    assert backlog == {"Flow": 1, "ApiClient": 0, "Promotion": 1}
    state.observe_promotion({**fresh, "status": {"phase": "Failed", "observedGeneration": 1}}, deleted=False)
    state.observe_flow(_flow("w-prod", "x", generation=2, observed=2), deleted=False)
    samples = _samples(StateCollector(state))
    assert {lb["phase"] for lb, _ in samples["flowops_promotions_non_terminal"]} == {"AwaitingApproval"}
    assert all(v == 0 for _, v in samples["flowops_reconcile_backlog"])


def test_handlers_are_wrapped_once_per_function_and_keep_their_kind() -> None:
    registry = kopf.OperatorRegistry()
    calls: list[str] = []

    @kopf.on.create("example.com", "v1", "things", registry=registry)
    @kopf.on.update("example.com", "v1", "things", registry=registry)
    def unit_sync_handler(**_: Any) -> None:
        calls.append("sync")
        raise kopf.TemporaryError("later")

    @kopf.on.event("example.com", "v1", "things", registry=registry)
    async def unit_async_handler(**_: Any) -> str:
        calls.append("async")
        return "ok"

    ids = [h.id for h in registry._changing.get_all_handlers()]
    assert metricshooks.instrument_handlers(registry) == 3
    changing = registry._changing.get_all_handlers()
    assert changing[0].fn is changing[1].fn  # Kopf still calls it once per cause
    assert [h.id for h in changing] == ids  # progress annotations keep their keys
    [watching] = registry._watching.get_all_handlers()
    assert asyncio.iscoroutinefunction(watching.fn)
    assert asyncio.run(watching.fn()) == "ok"
    with pytest.raises(kopf.TemporaryError):
        changing[0].fn()
    assert calls == ["async", "sync"]
    assert value("flowops_handler_errors_total", handler="unit_sync_handler", error="temporary") == 1
    assert value("flowops_handler_duration_seconds_count", handler="unit_async_handler") == 1


def test_port_problem_names_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert endpoints.port_problem(f"http://127.0.0.1:{port}/metrics", 8081) == f"port {port} is in use"
    assert endpoints.port_problem(f"127.0.0.1:{port}", 8081) is None


def test_handler_thread_pool_reports_calls_waiting_for_a_thread() -> None:
    import threading

    gate = threading.Event()
    waits_before = value("flowops_handler_queue_wait_seconds_count")
    waiting_before = value("flowops_handler_threads_waiting")
    with metricshooks.TimedExecutor(max_workers=1) as pool:
        busy = pool.submit(gate.wait)
        queued = pool.submit(lambda x: x * 2, 21)
        dropped = pool.submit(lambda: None)
        assert value("flowops_handler_threads_waiting") == waiting_before + 2
        assert dropped.cancel()
        assert value("flowops_handler_threads_waiting") == waiting_before + 1
        gate.set()
        assert busy.result(5) and queued.result(5) == 42
    assert value("flowops_handler_threads_waiting") == waiting_before
    assert value("flowops_handler_queue_wait_seconds_count") == waits_before + 2


def test_make_run_takes_a_free_port_when_the_usual_one_is_taken() -> None:
    from flowops.devcluster.cli import _port_or_free

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = _port_or_free(port)
        assert other != port and endpoints.port_problem(f"127.0.0.1:{other}", other) is None
    assert _port_or_free(port) == port
