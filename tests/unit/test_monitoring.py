"""The optional monitoring component (manifests/monitoring): every alert and dashboard
query parses as PromQL and names only metrics the operator exports; the scrape target is
the port the Deployment opens; the documentation lists every metric."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

import flowops.metrics  # noqa: F401  (defines the metrics in the default registry)
from flowops.metricsstate import State, StateCollector

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "manifests" / "monitoring"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",), "info": ("_info",)}


def _families() -> Iterator[Metric]:
    yield from StateCollector(State()).collect()
    for family in REGISTRY.collect():
        if family.name.startswith("flowops_"):
            yield family


def exported() -> set[str]:
    """Every series name the operator can expose (label children need not exist yet)."""
    return {family.name + suffix for family in _families() for suffix in SUFFIXES[family.type]}


def metric_names(node: Any) -> Iterator[str]:
    """Metric names a PromQL expression selects, from promql-parser's syntax tree."""
    if isinstance(node, promql_parser.VectorSelector):
        name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), None)
        assert name, f"selector without a metric name: {node}"
        yield name
    elif isinstance(node, promql_parser.MatrixSelector):
        yield from metric_names(node.vector_selector)
    elif isinstance(node, promql_parser.BinaryExpr):
        yield from metric_names(node.lhs)
        yield from metric_names(node.rhs)
    elif isinstance(node, promql_parser.AggregateExpr):
        yield from metric_names(node.expr)
        if node.param is not None:
            yield from metric_names(node.param)
    elif isinstance(node, promql_parser.Call):
        for arg in node.args:
            yield from metric_names(arg)
    elif isinstance(node, (promql_parser.ParenExpr, promql_parser.UnaryExpr, promql_parser.SubqueryExpr)):
        yield from metric_names(node.expr)
    else:
        assert isinstance(node, (promql_parser.NumberLiteral, promql_parser.StringLiteral)), f"unknown node {type(node)}"


def names_in(expr: str) -> set[str]:
    return set(metric_names(promql_parser.parse(expr)))


# Grafana's variables, replaced by what they stand for before parsing.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1d", "$__interval": "1m", "$environment": ".*"}


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert doc["kind"] == "PrometheusRule" and doc["apiVersion"] == "monitoring.coreos.com/v1"
    return [rule for group in doc["spec"]["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads((MONITORING / "grafana-dashboard.json").read_text())


def dashboard_queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard()["panels"] for target in panel.get("targets", ())]


def test_the_parser_finds_every_selector() -> None:
    expr = 'sum by (a) (rate(x_total{b="1"}[5m])) / on (a) group_left max(y) or absent(z) unless -w offset 1h'
    assert names_in(expr) == {"x_total", "y", "z", "w"}
    assert names_in("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))") == {"h_bucket"}
    with pytest.raises(ValueError):
        promql_parser.parse("sum by (a (x)")


def test_every_alert_is_complete_and_names_exported_metrics() -> None:
    known = exported()
    alerts = rules()
    assert {"FlowopsProductionPromotionFailed", "FlowopsFlowOutOfSyncForADay", "FlowopsOperatorFallingBehind"} <= {
        r["alert"] for r in alerts
    }
    for rule in alerts:
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        names = names_in(rule["expr"])
        assert names and names <= known, f"{rule['alert']}: {sorted(names - known)} not exported"


def test_the_out_of_sync_alert_waits_a_day() -> None:
    [rule] = [r for r in rules() if r["alert"] == "FlowopsFlowOutOfSyncForADay"]
    assert rule["for"] == "24h"


def test_every_dashboard_query_names_exported_metrics_and_answers_the_three_questions() -> None:
    known = exported()
    queries = dashboard_queries()
    assert len(queries) >= 10
    for title, expr in queries:
        names = names_in(grafana_to_promql(expr))
        assert names and names <= known, f"panel {title!r}: {sorted(names - known)} not exported"
    rows = [p["title"] for p in dashboard()["panels"] if p["type"] == "row"]
    assert rows[:3] == ["What is in production", "What is waiting", "What failed"]
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "environment")
    label_values = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"])
    assert label_values and label_values.group(1) in known


def test_the_component_lists_its_files_and_scrapes_the_deployment_port() -> None:
    component = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    for resource in component["resources"]:
        assert (MONITORING / resource).is_file()
    [generated] = component["configMapGenerator"]
    assert (MONITORING / generated["files"][0].split("=", 1)[1]).is_file()
    monitor = yaml.safe_load((MONITORING / "podmonitor.yaml").read_text())
    deployment = yaml.safe_load((ROOT / "manifests" / "deploy" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    [container] = pod["spec"]["containers"]
    port = next(p for p in container["ports"] if p["name"] == monitor["spec"]["podMetricsEndpoints"][0]["port"])
    assert any(arg == f"--metrics=http://0.0.0.0:{port['containerPort']}/metrics" for arg in container["args"])


def test_operations_doc_lists_every_metric() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    missing = sorted(family.name for family in _families() if f"`{family.name}" not in doc)
    assert not missing, f"docs/operations.md does not describe {missing}"
