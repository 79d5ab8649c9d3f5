"""`kubectl flowops check`: the verdict and plan per Flow manifest (table tests), and the
command offline against manifests on disk."""

from __future__ import annotations

import json

import pytest
import yaml

from flowops.cli.main import main
from flowops.domain import check
from flowops.domain.canonical import content_hash
from flowops.domain.commit import VersionRecord

RULE = {
    "name": "sign-in-keeps-password",
    "builtin": "requiredFields",
    "parameters": {"forms": {"signInForm": ["identifier", "currentPassword"]}},
}
DEV = {
    "apiVersion": "flowops.io/v1alpha1",
    "kind": "Environment",
    "metadata": {"name": "development"},
    "spec": {"namespace": "flowops-development", "tier": "Development", "policy": {"guardrails": [RULE]}},
}
PROD = {
    "apiVersion": "flowops.io/v1alpha1",
    "kind": "Environment",
    "metadata": {"name": "production"},
    "spec": {"namespace": "flowops-production", "tier": "Production", "upstream": "staging"},
}
FIELDS = {"identifier": {"type": "text"}, "currentPassword": {"type": "password"}}
GOOD = {"title": "Sign in", "fields": FIELDS, "forms": {"signInForm": {"fields": ["identifier", "currentPassword"]}}}
BROKEN = {"title": "Sign in", "fields": FIELDS, "forms": {"signInForm": {"fields": ["identifier"]}}}


def flow(content, namespace="flowops-development", cause=None):
    meta = {"name": "standard", "namespace": namespace}
    if cause:
        meta["annotations"] = {"flowops.io/change-cause": cause}
    return {"apiVersion": "flowops.io/v1alpha1", "kind": "Flow", "metadata": meta, "spec": {"content": content}}


def head(document, cause="first"):
    record = VersionRecord(name="standard-1", id="1" * 20, number=1, content_hash=content_hash(document), change_cause=cause)
    return check.Head([record], document)


@pytest.mark.parametrize(
    "manifest,env,cluster_head,consulted,verdict,plan",
    [
        (flow(GOOD), DEV, None, True, "Pass", "NewFlow"),
        (flow(BROKEN), DEV, None, True, "GuardrailsFailed", "NewFlow"),
        (flow(GOOD), DEV, head(GOOD), True, "Pass", "NoChange"),
        (flow(BROKEN), DEV, head(GOOD), True, "GuardrailsFailed", "NewVersion"),
        (flow(GOOD), DEV, None, False, "Pass", None),
        (flow(GOOD, "flowops-production"), PROD, None, True, "Protected", "NewFlow"),
        (flow(GOOD, "elsewhere"), None, None, False, "NoEnvironment", None),
    ],
)
def test_verdict_and_plan(manifest, env, cluster_head, consulted, verdict, plan):
    result = check.check_flow(manifest, env, cluster_head, consulted)
    assert (result.verdict, result.plan) == (verdict, plan)


def test_failure_names_rule_path_and_fix():
    result = check.check_flow(flow(BROKEN), DEV, None, False)
    assert "sign-in-keeps-password" in result.detail and "currentPassword" in result.detail


def test_protected_environment_points_to_a_promotion():
    result = check.check_flow(flow(GOOD, "flowops-production"), PROD, None, False)
    assert "is protected" in result.detail and "promote standard --from staging --to production" in result.detail


def test_plan_lists_changes_and_the_message_the_version_would_record():
    result = check.check_flow(flow(BROKEN, cause="first"), DEV, head(GOOD), True)
    assert [(c.op, c.path) for c in result.changes] == [("remove", "/forms/signInForm/fields/1")]
    assert result.against == 1
    assert result.message == "content changed; change-cause unchanged since version 1"


def test_command_offline_reads_environments_from_the_files(tmp_path, capsys):
    (tmp_path / "envs.yaml").write_text(yaml.safe_dump_all([DEV, PROD]))
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "good.yaml").write_text(yaml.safe_dump(flow(GOOD)))
    assert main(["check", "-f", str(tmp_path), "--offline"]) == 0
    assert "Pass" in capsys.readouterr().out

    (tmp_path / "flows" / "prod.yaml").write_text(yaml.safe_dump(flow(BROKEN, "flowops-production")))
    assert main(["check", "-f", str(tmp_path), "--offline", "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["verdict"] for f in report["flows"]] == ["Pass", "Protected"]


def test_command_without_flow_manifests_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "envs.yaml").write_text(yaml.safe_dump(DEV))
    assert main(["check", "-f", str(tmp_path), "--offline"]) == 2
    assert "no Flow manifests found" in capsys.readouterr().err
