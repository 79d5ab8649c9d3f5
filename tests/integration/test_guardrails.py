"""Guardrails gating HEAD, on real identity flows built from the real locale catalogues."""

from __future__ import annotations

import re
import uuid

import pytest
import yaml

from flowops.devcluster import install
from flowops.kube import ENVIRONMENTS, FLOWS, FLOWVERSIONS
from flowops.testing import documents
from flowops.testing.admission import refused
from flowops.testing.objects import API_VERSION, flow, flow_status, wait_for_number
from flowops.testing.waiting import wait_for

SAMPLE_RULES = next(
    d
    for d in yaml.safe_load_all((install.SAMPLES / "environments.yaml").read_text())
    if d and d["kind"] == "Environment" and d["metadata"]["name"] == "development"
)["spec"]["policy"]["guardrails"]


def ns(env):
    return env["spec"]["namespace"]


def condition(status, type_):
    return next((c for c in status.get("conditions", []) if c["type"] == type_), None)


def edit(kube, env, name, ops, number):
    kube.json_patch(FLOWS, name, ops, ns(env))
    return wait_for_number(kube, ns(env), name, number)


def start_identity_flow(kube, env, locales=("en", "de", "no")):
    document = documents.identity_flow(locales=locales)
    kube.create(FLOWS, flow("standard", document), ns(env))
    status = wait_for_number(kube, ns(env), "standard", 1, timeout=60)
    assert status["latestReadyNumber"] == 1, status
    return document, status


def test_deleting_current_password_never_reaches_head(kube, running_operator, make_environment):
    env = make_environment(policy={"guardrails": SAMPLE_RULES})
    document, first = start_identity_flow(kube, env)
    index = document["forms"]["signInForm"]["fields"].index("currentPassword")
    status = edit(kube, env, "standard", [{"op": "remove", "path": f"/spec/content/forms/signInForm/fields/{index}"}], 2)
    assert status["latestCreatedNumber"] == 2
    assert status["latestReadyVersion"] == first["latestReadyVersion"], "HEAD stays at the last good version"
    ready = condition(status, "Ready")
    assert ready["status"] == "False" and ready["reason"] == "GuardrailsFailed"
    assert "sign-in-keeps-password" in ready["message"] and "currentPassword" in ready["message"]
    assert "/forms/signInForm/fields" in ready["message"]
    version = kube.get(FLOWVERSIONS, f"standard-{status['latestCreatedNumber']:05d}", ns(env))
    assert version["status"]["ready"] is False
    failed = [r for r in version["status"]["guardrails"] if not r["passed"]]
    assert [r["rule"] for r in failed] == ["sign-in-keeps-password"]
    events = [e for e in kube.list_events(ns(env)) if e.get("reason") == "GuardrailsFailed"]
    assert events and "sign-in-keeps-password" in events[-1]["message"]


def test_missing_norwegian_translation_when_no_is_declared(kube, running_operator, make_environment):
    env = make_environment(policy={"guardrails": SAMPLE_RULES})
    document, _ = start_identity_flow(kube, env)
    key = document["forms"]["signInForm"]["title"]
    status = edit(kube, env, "standard", [{"op": "remove", "path": f"/spec/content/translations/no/{key}"}], 2)
    ready = condition(status, "Ready")
    assert ready["status"] == "False"
    assert "translations-complete" in ready["message"] and f"/translations/no/{key}" in ready["message"]
    assert status["latestReadyNumber"] == 1


def test_placeholder_dropped_in_one_locale(kube, running_operator, make_environment):
    env = make_environment(policy={"guardrails": SAMPLE_RULES})
    document, _ = start_identity_flow(kube, env)
    key = next(
        k
        for k, text in document["translations"]["en"].items()
        if "{provider}" in text and "{provider}" in document["translations"]["de"].get(k, "")
    )
    german = re.sub(r"\{provider\}", "Anbieter", document["translations"]["de"][key])
    status = edit(kube, env, "standard", [{"op": "replace", "path": f"/spec/content/translations/de/{key}", "value": german}], 2)
    ready = condition(status, "Ready")
    assert ready["status"] == "False" and "placeholders-match" in ready["message"] and "provider" in ready["message"]


def test_custom_cel_rule_passes_and_fails(kube, running_operator, make_environment):
    rule = {
        "name": "two-locales",
        "expression": "size(content.locales) >= 2",
        "message": "declare at least two locales in /locales",
    }
    env = make_environment(policy={"guardrails": [rule]})
    start_identity_flow(kube, env, locales=("en", "de"))
    status = edit(kube, env, "standard", [{"op": "replace", "path": "/spec/content/locales", "value": ["en"]}], 2)
    ready = condition(status, "Ready")
    assert ready["status"] == "False" and "two-locales" in ready["message"] and "declare at least two locales" in ready["message"]
    status = edit(kube, env, "standard", [{"op": "replace", "path": "/spec/content/locales", "value": ["en", "de"]}], 3)
    assert status["latestReadyNumber"] == 3 and condition(status, "Ready")["status"] == "True"


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"name": "r", "builtin": "maxDocSize"}, ["spec.policy.guardrails[0].builtin", "supported values", '"maxDocumentSize"']),
        ({"name": "r", "builtin": "maxDocumentSize"}, ["maxDocumentSize needs parameters.bytes", "parameters: {bytes: 1000000}"]),
        (
            {"name": "r", "builtin": "maxDocumentSize", "parameters": {"bytes": "1MB"}},
            ["spec.policy.guardrails[0].parameters.bytes", "integer"],
        ),
        ({"name": "r", "builtin": "requiredFields", "parameters": {}}, ["requiredFields needs parameters.forms"]),
        (
            {"name": "r", "builtin": "requiredFields", "parameters": {"forms": {"signInForm": []}}},
            ["spec.policy.guardrails[0].parameters.forms.signInForm"],
        ),
        ({"name": "r", "builtin": "formFieldsExist", "message": "m"}, ["message applies only to CEL rules", "remove message"]),
    ],
)
def test_a_guardrail_no_document_could_pass_is_refused_at_admission(kube, rule, words):
    """A rule the operator cannot use fails every document of its environment: refused
    before it is stored, naming the field and the fix."""
    name = f"typo-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": API_VERSION,
        "kind": "Environment",
        "metadata": {"name": name},
        "spec": {"namespace": f"ns-{name}", "tier": "Development", "policy": {"guardrails": [rule]}},
    }
    refused(lambda: kube.create(ENVIRONMENTS, body), *words)
    assert kube.get_or_none(ENVIRONMENTS, name) is None


def test_cel_syntax_error_and_unknown_parameter_are_reported_on_the_environment(kube, running_operator, make_environment):
    env = make_environment(
        policy={
            "guardrails": [
                {"name": "broken", "expression": "content.forms.exists(f, ", "message": "x"},
                # Unknown parameter names are the operator's to report (the schema keeps them).
                {"name": "mystery", "builtin": "formFieldsExist", "parameters": {"locale": ["en"]}},
            ]
        }
    )
    status = wait_for(
        lambda: condition(kube.get(ENVIRONMENTS, env["metadata"]["name"]).get("status") or {}, "GuardrailsValid"),
        message="environment status",
    )
    assert status["status"] == "False"
    env_status = kube.get(ENVIRONMENTS, env["metadata"]["name"])["status"]
    invalid = {g["name"]: g for g in env_status["guardrails"] if not g["valid"]}
    assert set(invalid) == {"broken", "mystery"}
    assert "unknown parameter 'locale'" in invalid["mystery"]["message"], invalid["mystery"]
    assert condition(env_status, "Ready")["status"] == "False"
    # Invalid rules never silently pass: a flow here cannot become ready.
    kube.create(FLOWS, flow("any", {"a": 1}), ns(env))
    flow_state = wait_for_number(kube, ns(env), "any", 1)
    assert flow_state.get("latestReadyVersion") is None and "broken" in condition(flow_state, "Ready")["message"]


def test_non_identity_document_versions_fine_under_identity_rules(kube, running_operator, make_environment):
    env = make_environment(policy={"guardrails": [r for r in SAMPLE_RULES]})
    kube.create(FLOWS, flow("email-theme", {"colors": {"primary": "#123456"}, "logo": "https://example.com/logo.svg"}), ns(env))
    status = wait_for_number(kube, ns(env), "email-theme", 1)
    assert status["latestReadyNumber"] == 1 and condition(status, "Ready")["status"] == "True"


def test_changing_rules_re_evaluates_head_candidates(kube, running_operator, make_environment):
    env = make_environment(
        policy={"guardrails": [{"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}]}
    )
    kube.create(FLOWS, flow("page", {"title": "t", "n": 1}), ns(env))
    wait_for_number(kube, ns(env), "page", 1)
    status = edit(kube, env, "page", [{"op": "replace", "path": "/spec/content", "value": {"n": 2}}], 2)
    assert status["latestReadyNumber"] == 1
    kube.merge_patch(
        ENVIRONMENTS,
        env["metadata"]["name"],
        {"spec": {"policy": {"guardrails": [{"name": "needs-n", "expression": "has(content.n)", "message": "add /n"}]}}},
    )
    moved = wait_for(
        lambda: (s := flow_status(kube, ns(env), "page")).get("latestReadyNumber") == 2 and s,
        timeout=30,
        message="HEAD to move to version 2 under the new rules",
    )
    assert condition(moved, "Ready")["status"] == "True"


def test_new_rules_judge_versions_as_far_back_as_head_takes(kube, running_operator, make_environment):
    """Twenty-two versions fail a new rule; only version 1 passes it. HEAD is version 1, not
    an older verdict left standing on a version the re-evaluation never reached."""
    env = make_environment()
    kube.create(FLOWS, flow("page", {"title": "t", "footer": "f"}), ns(env))
    wait_for_number(kube, ns(env), "page", 1)
    for number in range(2, 24):
        edit(kube, env, "page", [{"op": "replace", "path": "/spec/content", "value": {"title": str(number)}}], number)
    assert flow_status(kube, ns(env), "page")["latestReadyNumber"] == 23
    rule = {"name": "needs-footer", "expression": "has(content.footer)", "message": "add /footer"}
    kube.merge_patch(ENVIRONMENTS, env["metadata"]["name"], {"spec": {"policy": {"guardrails": [rule]}}})
    moved = wait_for(
        lambda: (s := flow_status(kube, ns(env), "page")).get("latestReadyNumber") != 23 and s,
        timeout=60,
        message="HEAD judged under the new rule",
    )
    assert moved["latestReadyNumber"] == 1, moved
    assert condition(moved, "Ready")["reason"] == "GuardrailsFailed"
    stale = kube.get(FLOWVERSIONS, "page-00002", ns(env))["metadata"]["labels"]["flowops.io/ready"]
    assert stale == "false"


def test_a_flow_committed_while_no_environment_claimed_its_namespace_is_judged_when_one_does(
    kube, running_operator, make_environment
):
    """Versions committed under no rules (the Environment deleted meanwhile) are judged by the
    rules of the Environment that claims the namespace again, without waiting for a restart."""
    rule = {"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}
    env = make_environment(policy={"guardrails": [rule]})
    kube.delete(ENVIRONMENTS, env["metadata"]["name"])
    # Until the operator has seen the deletion, a commit is still judged by its rules: a probe
    # flow, edited until its status says no Environment manages the namespace.
    kube.create(FLOWS, flow("probe", {"n": 0}), ns(env))
    edits = iter(range(1, 1000))

    def unmanaged() -> bool:
        ready = condition(flow_status(kube, ns(env), "probe"), "Ready") or {}
        if "no Environment manages namespace" in (ready.get("message") or ""):
            return True
        kube.merge_patch(FLOWS, "probe", {"spec": {"content": {"n": next(edits)}}}, ns(env))
        return False

    wait_for(unmanaged, timeout=60, interval=1.0, message="the operator to see the Environment deleted")
    kube.create(FLOWS, flow("untitled", {"n": 1}), ns(env))
    committed = wait_for_number(kube, ns(env), "untitled", 1)
    assert committed.get("latestReadyNumber") == 1, committed  # no rules applied

    kube.create(
        ENVIRONMENTS,
        {
            "apiVersion": env["apiVersion"],
            "kind": "Environment",
            "metadata": {"name": env["metadata"]["name"]},
            "spec": env["spec"],
        },
    )
    judged = wait_for(
        lambda: (s := flow_status(kube, ns(env), "untitled")).get("latestReadyNumber") is None and s,
        timeout=30,
        message="version 1 judged by the claiming Environment's rules",
    )
    assert condition(judged, "Ready")["status"] == "False"
    version = kube.get(FLOWVERSIONS, "untitled-00001", ns(env))
    assert version["metadata"]["labels"]["flowops.io/ready"] == "false"
