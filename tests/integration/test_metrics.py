"""The /metrics endpoint of the real operator: counters move with what a user did, state
gauges tell what is waiting and what failed, series stay bounded with many flows, and the
operator's Events say they come from flowops."""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections import Counter
from pathlib import Path

import yaml

from flowops.kube import FLOWS, PROMOTIONS, Kube
from flowops.testing.metrics import Sample, value
from flowops.testing.metrics import scrape as scrape_url
from flowops.testing.objects import flow, promotion, wait_for_number, wait_for_phase
from flowops.testing.operatorproc import OperatorProcess
from flowops.testing.waiting import wait_for, wait_until


def scrape(operator: OperatorProcess) -> list[Sample]:
    return scrape_url(operator.metrics_url)


def metric_is(operator: OperatorProcess, expected: float, name: str, **labels: str) -> list[Sample]:
    """Waits until the metric (summed over unnamed labels) has the value; returns the scrape."""
    return wait_until(
        lambda: scrape(operator),
        lambda samples: value(samples, name, **labels) == expected,
        timeout=60,
        message=f"{name}{labels} == {expected}",
        shown=lambda samples: f"{name} samples: {[(lb, v) for n, lb, v in samples if n == name]}",
    )


def ns(env: dict) -> str:
    return env["spec"]["namespace"]


def name(env: dict) -> str:
    return env["metadata"]["name"]


def test_counters_and_gauges_follow_versions_guardrails_promotions_and_approvals(
    kube: Kube, running_operator: OperatorProcess, make_environment
) -> None:
    needs_title = {"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}
    needs_owner = {"name": "needs-owner", "expression": "has(content.owner)", "message": "add /owner"}
    dev = make_environment("Development", policy={"guardrails": [needs_title]})
    # Unprotected on purpose: this test counts outcomes, governance has its own tests.
    staging = make_environment("Staging", upstream=name(dev), protected=False)
    strict = make_environment("Staging", upstream=name(dev), protected=False, policy={"guardrails": [needs_owner]})

    # A version that becomes HEAD, then one that fails a guardrail.
    kube.create(FLOWS, flow("signin", {"title": "Sign in"}), ns(dev))
    wait_for_number(kube, ns(dev), "signin", 1)
    kube.merge_patch(FLOWS, "signin", {"spec": {"content": {"title": None, "subtitle": "no title"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "signin", 2)
    kube.merge_patch(FLOWS, "signin", {"spec": {"content": {"title": "Sign in", "step": 2}}}, ns(dev))
    head = wait_for_number(kube, ns(dev), "signin", 3, field="latestReadyNumber")["latestReadyVersion"]
    samples = metric_is(running_operator, 2, "flowops_versions_created_total", environment=name(dev), head="true")
    assert value(samples, "flowops_versions_created_total", environment=name(dev), head="false") == 1
    assert value(samples, "flowops_guardrail_failures_total", environment=name(dev), rule="needs-title", stage="version") == 1

    # A promotion that waits for approval: counted, and visible as waiting with an age.
    kube.create(PROMOTIONS, promotion("reviewed", name(dev), "signin", review=True), ns(staging))
    wait_for_phase(kube, ns(staging), "reviewed", ("AwaitingApproval",))
    samples = metric_is(running_operator, 1, "flowops_promotion_approval_waits_total", environment=name(staging))
    samples = metric_is(
        running_operator, 1, "flowops_promotions_non_terminal", environment=name(staging), phase="AwaitingApproval"
    )
    assert value(samples, "flowops_promotions_awaiting_approval_oldest_seconds", environment=name(staging)) >= 0
    assert any(
        n == "flowops_promotions_awaiting_approval_oldest_seconds" and lb == {"environment": name(staging)}
        for n, lb, _ in samples
    )
    assert value(samples, "flowops_promotions_total", environment=name(staging)) == 0

    # Approved: it succeeds, stops waiting, and the duration is observed.
    kube.merge_patch(PROMOTIONS, "reviewed", {"spec": {"approved": True}}, ns(staging))
    assert wait_for_phase(kube, ns(staging), "reviewed")["phase"] == "Succeeded"
    samples = metric_is(
        running_operator, 1, "flowops_promotions_total", environment=name(staging), phase="Succeeded", reason="PromotionSucceeded"
    )
    assert value(samples, "flowops_promotion_duration_seconds_count", environment=name(staging), phase="Succeeded") == 1
    # The gauges follow the watch stream, a moment after the counter.
    samples = metric_is(running_operator, 0, "flowops_promotions_non_terminal", environment=name(staging))
    assert not any(
        n == "flowops_promotions_awaiting_approval_oldest_seconds" and lb.get("environment") == name(staging)
        for n, lb, _ in samples
    )
    assert value(samples, "flowops_versions_created_total", environment=name(staging), origin="Promotion", head="true") == 1

    # Where the guardrails refuse it: a Failed promotion, by reason and by rule.
    kube.create(PROMOTIONS, promotion("to-strict", name(dev), "signin"), ns(strict))
    assert wait_for_phase(kube, ns(strict), "to-strict")["phase"] == "Failed"
    samples = metric_is(
        running_operator, 1, "flowops_promotions_total", environment=name(strict), phase="Failed", reason="GuardrailsFailed"
    )
    assert (
        value(samples, "flowops_guardrail_failures_total", environment=name(strict), rule="needs-owner", stage="promotion") == 1
    )
    assert value(samples, "flowops_promotions_total", environment=name(strict), phase="Succeeded") == 0

    # State: what is where. One staging holds the promoted flow in sync; the other lacks it.
    samples = metric_is(running_operator, 1, "flowops_flows", environment=name(staging), sync="InSync", ready="True")
    assert value(samples, "flowops_flows", environment=name(strict), sync="NotPromoted") == 1
    info = [lb for n, lb, _ in samples if n == "flowops_flow_info" and lb["environment"] == name(dev)]
    assert info == [
        {
            "environment": name(dev),
            "namespace": ns(dev),
            "flow": "signin",
            "head_version": head,
            "head_number": "3",
            "sync": "NoUpstream",
            "ready": "True",
        }
    ]

    assert [lb for n, lb, _ in samples if n == "flowops_build_info"] == [{"version": importlib.metadata.version("flowops")}]
    # Handler and API request metrics, from flowops' client and from Kopf's.
    assert value(samples, "flowops_handler_duration_seconds_count", handler="reconcile_promotion") >= 2
    assert value(samples, "flowops_handler_queue_wait_seconds_count") >= 2  # the sync handlers went through the timed pool
    assert value(samples, "flowops_api_requests_total", client="flowops", verb="create", resource="flowversions", code="201") >= 4
    assert value(samples, "flowops_api_requests_total", client="kopf", verb="watch", resource="promotions") >= 1
    assert value(samples, "flowops_api_requests_total", client="kopf", verb="create", resource="events") >= 1
    assert value(samples, "flowops_api_request_duration_seconds_count", client="kopf", verb="create") >= 1


def test_start_up_logs_no_error_for_retried_requests(running_operator: OperatorProcess, make_environment) -> None:
    """The session operator started on a control plane whose CRDs were just created: the API
    server answers "storage is (re)initializing" to first requests like its."""
    make_environment("Development")  # something to handle, so start-up has an end in the log

    def handled_something() -> list[str] | None:
        lines = running_operator.log_path.read_text(errors="replace").splitlines()
        return lines if any(" is processed: " in line for line in lines) else None

    log = wait_for(handled_something, message="a handled object in the log")
    assert not [line for line in log if "[ERROR" in line and "will retry" in line]
    # Start-up: everything up to the first object the operator finished handling.
    first = next(i for i, line in enumerate(log) if " is processed: " in line)
    assert not [line for line in log[:first] if "[ERROR" in line], "\n".join(log[:first])


def test_events_come_from_flowops(kube: Kube, running_operator: OperatorProcess, make_environment) -> None:
    dev = make_environment("Development")
    kube.create(FLOWS, flow("events", {"title": "x"}), ns(dev))
    wait_for_number(kube, ns(dev), "events", 1)
    event = wait_for(
        lambda: next((e for e in kube.list_events(ns(dev)) if e.get("reason") == "VersionCreated"), None),
        message="a VersionCreated event",
    )
    assert event["source"]["component"] == "flowops-operator"
    assert event["reportingComponent"] == "flowops-operator"
    assert event["reportingInstance"]


def test_series_stay_bounded_with_200_flows(kube: Kube, running_operator: OperatorProcess, make_environment) -> None:
    env = make_environment("Development")
    # The first flows bring this environment's label values and every request kind a flow
    # needs; from there on, more flows must add info series only.
    for i in range(10):
        kube.create(FLOWS, flow(f"f{i:03d}", {"title": f"flow {i}"}), ns(env))
    wait_for(
        lambda: value(scrape(running_operator), "flowops_flows", environment=name(env)) == 10, timeout=60, message="10 flows"
    )
    before = Counter(n for n, _, _ in scrape(running_operator))
    for i in range(10, 200):
        kube.create(FLOWS, flow(f"f{i:03d}", {"title": f"flow {i}"}), ns(env))
    metric_is(running_operator, 200, "flowops_versions_created_total", environment=name(env), head="true")
    after_samples = metric_is(running_operator, 200, "flowops_flows", environment=name(env), sync="NoUpstream")
    after = Counter(n for n, _, _ in after_samples)
    assert sum(1 for n, lb, _ in after_samples if n == "flowops_flow_info" and lb["environment"] == name(env)) == 200
    # Every other family gains at most a stray series (say a retried request's response
    # code), however many flows there are: nothing is labelled by flow.
    grown = {n: after[n] - before.get(n, 0) for n in after if n != "flowops_flow_info" and after[n] > before.get(n, 0)}
    assert all(count <= 3 for count in grown.values()), grown
    assert sum(grown.values()) <= 10, grown
    assert sum(after.values()) - after["flowops_flow_info"] < 2000, "the whole scrape stays small"


STATE_GAUGES = (
    "flowops_environment_info",
    "flowops_flows",
    "flowops_apiclients",
    "flowops_promotions_non_terminal",
    "flowops_reconcile_backlog",
    "flowops_reconcile_backlog_oldest_seconds",
    "flowops_flow_info",
    "flowops_flow_info_omitted",
)


def active_is(operator: OperatorProcess, expected: float) -> list[Sample]:
    return wait_until(
        lambda: scrape(operator),
        lambda samples: [v for n, _, v in samples if n == "flowops_active"] == [expected],
        timeout=60,
        message=f"flowops_active == {expected}",
        shown=lambda samples: f"flowops_active: {[v for n, _, v in samples if n == 'flowops_active']}",
    )


def flows_reported(samples: list[Sample], namespace: str) -> set[str]:
    return {lb["flow"] for n, lb, _ in samples if n == "flowops_flow_info" and lb["namespace"] == namespace}


def test_a_paused_replica_reports_no_state_and_rebuilds_it_on_resuming(kube: Kube, cluster, operator, make_environment) -> None:
    """The replica that was active, paused by a peer with a higher priority: its state
    would freeze (a flow deleted meanwhile kept forever, ages growing), so it says it is
    paused and reports none; resumed, it reports what exists."""
    operator.stop()
    log_dir = operator.log_path.parent
    env = {"FLOWOPS_PEERING_LIFETIME": "10", "FLOWOPS_METRICS_SWEEP_INTERVAL": "2"}
    peering = ("--peering", "flowops-metrics")
    low = OperatorProcess(
        cluster.kubeconfig, "flowops-operator", log_dir / "metrics-low.log", (*peering, "--priority", "100"), env
    )
    high = OperatorProcess(
        cluster.kubeconfig, "flowops-operator", log_dir / "metrics-high.log", (*peering, "--priority", "200"), env
    )
    try:
        low.start()
        dev = make_environment()
        for flow_name in ("stays", "goes"):
            kube.create(FLOWS, flow(flow_name, {"title": flow_name}), ns(dev))
            wait_for_number(kube, ns(dev), flow_name, 1)
        samples = wait_until(
            lambda: scrape(low),
            lambda samples: flows_reported(samples, ns(dev)) == {"stays", "goes"},
            timeout=60,
            message="both flows reported by the only replica",
        )
        assert [v for n, _, v in samples if n == "flowops_active"] == [1]

        high.start()
        paused = active_is(low, 0)
        assert not [n for n, _, _ in paused if n in STATE_GAUGES], "a paused replica reports no state"
        assert any(n == "flowops_api_requests_total" for n, _, _ in paused), "counters stay"
        samples = wait_until(
            lambda: scrape(high),
            lambda samples: flows_reported(samples, ns(dev)) == {"stays", "goes"},
            timeout=60,
            message="the active replica reports the flows",
        )
        assert [v for n, _, v in samples if n == "flowops_active"] == [1]

        kube.delete(FLOWS, "goes", ns(dev))  # the active replica handles it; the paused one sees nothing
        wait_for(lambda: kube.get_or_none(FLOWS, "goes", ns(dev)) is None, timeout=60, message="flow deleted")
        assert not [n for n, _, _ in active_is(low, 0) if n in STATE_GAUGES]

        before_resuming = len(low.log_path.read_text(errors="replace"))
        high.kill()
        active_is(low, 1)
        wait_until(
            lambda: scrape(low),
            lambda samples: flows_reported(samples, ns(dev)) == {"stays"},
            timeout=90,
            message="the resumed replica reports what exists, not the flow deleted while it was paused",
            shown=lambda samples: str(flows_reported(samples, ns(dev))),
        )
        # Resuming re-listed every kind: the sweep lists their metadata once.
        wait_for(
            lambda: "state gauges: swept Environment, Flow" in low.log_path.read_text(errors="replace")[before_resuming:],
            timeout=30,
            message="a sweep after the re-list",
        )
        assert "the sweep failed" not in low.log_path.read_text(errors="replace")
    finally:
        high.kill()
        low.stop()
        operator.start()


def test_monitoring_component_builds_on_top_of_the_install(cluster, tmp_path) -> None:
    """An overlay as a user writes it: the install plus the optional monitoring component."""
    manifests = Path(__file__).resolve().parents[2] / "manifests"
    relative = os.path.relpath(manifests, tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources:\n  - {relative}\ncomponents:\n  - {relative}/monitoring\n"
    )
    built = list(yaml.safe_load_all(cluster.kubectl("kustomize", str(tmp_path)).stdout))
    kinds = Counter(doc["kind"] for doc in built)
    assert kinds["PodMonitor"] == kinds["PrometheusRule"] == kinds["Deployment"] == 1
    [dashboard] = [d for d in built if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "flowops-grafana-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["flowops.json"])["uid"] == "flowops"
