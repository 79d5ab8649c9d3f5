"""The Argo CD health checks: both shipped forms agree with the Lua sources, and the rule
table holds state by state (real objects in each state: tests/integration/test_health.py)."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from flowops.domain import bindingstatus, environmentstatus, flowstatus, promotionstatus
from flowops.testing.argocd import health

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("render", ROOT / "hack" / "argocd" / "render.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)

KINDS = ["Environment", "Flow", "FlowVersion", "Promotion", "Application", "ApiClient"]


def test_both_forms_are_rendered_from_the_sources():
    for path, text in render.rendered().items():
        assert path.read_text() == text, f"{path} is stale: run `make argocd`"


def test_argocd_cm_holds_one_check_per_kind_equal_to_the_directory_layout():
    data = yaml.safe_load((render.ROOT / render.CM).read_text())["data"]
    assert sorted(data) == sorted(f"resource.customizations.health.flowops.io_{k}" for k in KINDS)
    for kind in KINDS:
        layout = render.ROOT / "resource_customizations" / "flowops.io" / kind / "health.lua"
        assert data[f"resource.customizations.health.flowops.io_{kind}"] == layout.read_text()


def test_every_kind_with_a_condition_set_has_a_check():
    declared = {
        s.kind
        for s in (
            flowstatus.FLOW,
            promotionstatus.PROMOTION,
            environmentstatus.ENVIRONMENT,
            bindingstatus.APICLIENT,
            bindingstatus.APPLICATION,
        )
    }
    assert declared | {"FlowVersion"} == set(KINDS) == set(render.SOURCES)


def cond(type_, status, reason="R", message="m"):
    return {"type": type_, "status": status, "reason": reason, "message": message}


def obj(generation=2, observed=2, conditions=()):
    status = {"conditions": list(conditions)}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"metadata": {"name": "x", "generation": generation}, "status": status}


@pytest.mark.parametrize(
    "name, thing, expected",
    [
        ("no status", {"metadata": {"generation": 1}}, "Progressing"),
        ("CRD default, not observed", obj(1, 0), "Progressing"),
        ("older generation observed", obj(3, 2, [cond("Ready", "True")]), "Progressing"),
        ("no conditions yet", obj(), "Progressing"),
        ("ready", obj(conditions=[cond("Ready", "True")]), "Healthy"),
        ("stalled", obj(conditions=[cond("Ready", "False"), cond("Stalled", "True", "GuardrailsFailed", "rule r")]), "Degraded"),
        ("reconciling", obj(conditions=[cond("Ready", "Unknown"), cond("Reconciling", "True")]), "Progressing"),
        ("ready unknown", obj(conditions=[cond("Ready", "Unknown")]), "Progressing"),
        ("not ready, no other sign", obj(conditions=[cond("Ready", "False", "NoVersion")]), "Progressing"),  # kstatus: InProgress
        ("waiting for a person", obj(conditions=[cond("Approved", "False", "AwaitingApproval")]), "Suspended"),
        # A condition someone wrote without a type: read past, not an error of the whole check.
        ("a typeless condition", obj(conditions=[{"status": "False"}, cond("Ready", "True")]), "Healthy"),
    ],
)
def test_condition_rule(name, thing, expected):
    for kind in ("Environment", "Flow", "Promotion", "Application", "ApiClient"):
        assert health(kind, thing)[0] == expected, kind


def test_the_rule_follows_what_each_condition_set_publishes():
    waiting = promotionstatus.promotion_conditions(
        "AwaitingApproval", "plan ready: approve with spec.approved: true", 1, None, "t"
    )
    assert health("Promotion", obj(1, 1, waiting)) == (
        "Suspended",
        "AwaitingApproval: plan ready: approve with spec.approved: true",
    )
    failed = promotionstatus.promotion_conditions("Failed", "source moved", 1, None, "t", "PlanStale")
    assert health("Promotion", obj(1, 1, failed))[0] == "Degraded"
    running = promotionstatus.promotion_conditions("Running", "writing", 1, None, "t")
    assert health("Promotion", obj(1, 1, running))[0] == "Progressing"


def test_degraded_message_carries_reason_and_message():
    status, message = health("Flow", obj(conditions=[cond("Stalled", "True", "GuardrailsFailed", "rule password-kept failed")]))
    assert (status, message) == ("Degraded", "GuardrailsFailed: rule password-kept failed")


@pytest.mark.parametrize(
    "version, expected",
    [
        ({"spec": {"origin": "Commit"}}, "Progressing"),
        ({"spec": {"origin": "Commit"}, "status": {"ready": True}}, "Healthy"),
        ({"spec": {"origin": "Commit"}, "status": {"ready": False, "guardrails": [{"rule": "a", "passed": False}]}}, "Degraded"),
        ({"spec": {"origin": "Quarantine"}}, "Healthy"),
    ],
)
def test_flowversion_rule(version, expected):
    assert health("FlowVersion", {"metadata": {"name": "v", "generation": 1}, **version})[0] == expected
