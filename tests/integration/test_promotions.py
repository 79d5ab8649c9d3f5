"""Promotions between environments against the real control plane and operator."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flowops.domain.canonical import content_hash
from flowops.kube import APICLIENTS, APPLICATIONS, ENVIRONMENTS, FLOWS, FLOWVERSIONS, PROMOTIONS, ApiError
from flowops.testing.configmaps import ObjectWrites
from flowops.testing.objects import PROMOTE_NOW, flow, flow_status, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for


def chain(make_environment):
    # Promotion mechanics, not governance (tests/integration/test_governance*.py): promote now,
    # and sources beyond the upstream so the operator's own checks are reached.
    dev = make_environment("Development")
    staging = make_environment(
        "Staging",
        upstream=dev["metadata"]["name"],
        policy={"promotion": {**PROMOTE_NOW, "allowedSources": [dev["metadata"]["name"], "nowhere"]}},
    )
    prod = make_environment(
        "Production",
        upstream=staging["metadata"]["name"],
        policy={"promotion": {**PROMOTE_NOW, "allowedSources": [staging["metadata"]["name"], dev["metadata"]["name"]]}},
    )
    return dev, staging, prod


def ns(env):
    return env["spec"]["namespace"]


def name(env):
    return env["metadata"]["name"]


def test_promote_dev_to_staging_to_production_creates_new_versions_with_provenance(kube, running_operator, make_environment):
    dev, staging, prod = chain(make_environment)
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    dev_status = wait_for_number(kube, ns(dev), "standard", 2)

    kube.create(PROMOTIONS, promotion("to-staging", name(dev), "standard", comment="ship v2"), ns(staging))
    result = wait_for_phase(kube, ns(staging), "to-staging")
    assert result["phase"] == "Succeeded", result
    assert result["sourceVersion"] == dev_status["latestReadyVersion"]
    assert result["targetNumber"] == 1
    assert result["targetVersion"] != result["sourceVersion"], "history is not copied: the target gets a new id"
    version = kube.get(FLOWVERSIONS, f"standard-{result['targetNumber']:05d}", ns(staging))
    assert version["spec"]["origin"] == "Promotion"
    assert version["spec"]["source"] == {
        "environment": name(dev),
        "flow": "standard",
        "version": result["sourceVersion"],
        "promotion": "to-staging",
    }
    assert version["spec"]["message"] == "ship v2"

    kube.create(PROMOTIONS, promotion("to-prod", name(staging), "standard"), ns(prod))
    result = wait_for_phase(kube, ns(prod), "to-prod")
    assert result["phase"] == "Succeeded", result
    prod_flow = kube.get(FLOWS, "standard", ns(prod))
    assert prod_flow["spec"]["content"] == {"title": "v2"}
    assert prod_flow["status"]["latestReadyVersion"] == result["targetVersion"]
    assert prod_flow["status"]["lastPromotion"]["name"] == "to-prod"
    assert prod_flow["status"]["lastPromotion"]["version"] == result["targetVersion"]
    assert result["startedAt"] <= result["completedAt"]


def dev_flow(kube, env, content, name="standard", number=1):
    kube.create(FLOWS, flow(name, content), ns(env))
    return wait_for_number(kube, ns(env), name, number)


def promote(kube, env, pname, **kwargs):
    kube.create(PROMOTIONS, promotion(pname, **kwargs), ns(env))
    return wait_for_phase(kube, ns(env), pname)


def versions_of(kube, env, flow_name):
    return [v for v in kube.list(FLOWVERSIONS, ns(env), label_selector=f"flowops.io/flow={flow_name}")]


def test_target_created_with_content_only_no_gitops_metadata(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    tracked = flow(
        "standard",
        {"a": 1},
        annotations={
            "argocd.argoproj.io/tracking-id": "app:flowops.io/Flow:dev/standard",
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
        },
    )
    tracked["metadata"]["labels"] = {"app.kubernetes.io/instance": "flows", "kustomize.toolkit.fluxcd.io/name": "flows"}
    kube.create(FLOWS, tracked, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    result = promote(kube, staging, "p1", environment=name(dev), source_flow="standard")
    assert result["phase"] == "Succeeded", result
    target = kube.get(FLOWS, "standard", ns(staging))
    assert not (target["metadata"].get("labels") or {})
    assert not any(k.startswith(("argocd", "kubectl.kubernetes.io")) for k in target["metadata"].get("annotations") or {})


def test_rename_copy_and_if_target_exists_fail(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"a": 1})
    result = promote(kube, staging, "rename", environment=name(dev), source_flow="standard", target={"flow": "standard-v2"})
    assert result["phase"] == "Succeeded", result
    assert kube.get(FLOWS, "standard-v2", ns(staging))["spec"]["content"] == {"a": 1}
    # A copy within one environment: a promotion from the environment into itself under a new name.
    result = promote(
        kube, staging, "copy", environment=name(staging), source_flow="standard-v2", target={"flow": "standard-copy"}
    )
    assert result["phase"] == "Succeeded", result
    assert kube.get(FLOWS, "standard-copy", ns(staging))["spec"]["content"] == {"a": 1}
    result = promote(
        kube,
        staging,
        "fail",
        environment=name(dev),
        source_flow="standard",
        target={"flow": "standard-v2"},
        ifTargetExists="Fail",
    )
    assert result["phase"] == "Failed"
    assert "already exists" in result["message"] and "ifTargetExists" in result["message"]
    assert len(versions_of(kube, staging, "standard-v2")) == 1, "a failed promotion writes nothing"


def test_rollback_in_protected_environment_makes_new_version_with_old_content(kube, running_operator, make_environment):
    dev, _, prod = chain(make_environment)
    dev_flow(kube, dev, {"title": "one"})
    assert promote(kube, prod, "p1", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "two"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    assert promote(kube, prod, "p2", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    result = promote(kube, prod, "rollback", environment=name(prod), source_flow="standard", version="1")
    assert result["phase"] == "Succeeded", result
    assert result["targetNumber"] == 3
    target = kube.get(FLOWS, "standard", ns(prod))
    assert target["spec"]["content"] == {"title": "one"}
    assert target["status"]["latestReadyNumber"] == 3


def test_partial_promotion_of_one_form(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    base = {"forms": {"signInForm": {"fields": ["identifier", "currentPassword"]}, "registrationForm": {"fields": ["email"]}}}
    dev_flow(kube, dev, base)
    assert promote(kube, staging, "first", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    edited = {
        "forms": {
            "signInForm": {"fields": ["identifier", "currentPassword", "code"]},
            "registrationForm": {"fields": ["email", "phone"]},
        }
    }
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": edited}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    result = promote(
        kube, staging, "partial", environment=name(dev), source_flow="standard", changes={"include": ["/forms/signInForm"]}
    )
    assert result["phase"] == "Succeeded", result
    content = kube.get(FLOWS, "standard", ns(staging))["spec"]["content"]
    assert content["forms"]["signInForm"]["fields"] == ["identifier", "currentPassword", "code"]
    assert content["forms"]["registrationForm"]["fields"] == ["email"], "excluded part stays as it was"
    assert [(c["op"], c["path"], c["new"]) for c in result["plan"]["changes"]] == [("add", "/forms/signInForm/fields/2", "code")]


def test_plan_is_granular_and_one_inserted_step_is_promoted_alone(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"steps": [{"id": "a"}, {"id": "b"}, {"id": "c"}]})
    assert promote(kube, staging, "first", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    edited = {"steps": [{"id": "c"}, {"id": "a"}, {"id": "new", "form": "consent"}, {"id": "b"}]}
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": edited}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    result = promote(kube, staging, "one-step", environment=name(dev), source_flow="standard", changes={"include": ["/steps/2"]})
    assert result["phase"] == "Succeeded", result
    assert [(c["op"], c["path"]) for c in result["plan"]["changes"]] == [("add", "/steps/1")]
    content = kube.get(FLOWS, "standard", ns(staging))["spec"]["content"]
    assert [s["id"] for s in content["steps"]] == ["a", "new", "b", "c"], "only the new step, after the step before it"
    result = promote(kube, staging, "the-rest", environment=name(dev), source_flow="standard")
    assert result["phase"] == "Succeeded", result
    assert result["plan"]["changes"] == [{"op": "move", "from": "/steps/3", "path": "/steps/0", "new": {"id": "c"}}]
    assert kube.get(FLOWS, "standard", ns(staging))["spec"]["content"] == edited


def test_include_pointer_matching_nothing_fails_listing_the_differing_paths(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"a": 1, "b": 2})
    assert promote(kube, staging, "first", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"a": 5, "b": 2}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    result = promote(kube, staging, "nomatch", environment=name(dev), source_flow="standard", changes={"include": ["/b"]})
    assert result["phase"] == "Failed"
    assert "/b" in result["message"] and "/a" in result["message"], result["message"]
    assert len(versions_of(kube, staging, "standard")) == 1


def test_review_waits_for_approval_then_executes(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"title": "reviewed"})
    kube.create(PROMOTIONS, promotion("rev", name(dev), "standard", review=True), ns(staging))
    waiting = wait_for_phase(kube, ns(staging), "rev", ("AwaitingApproval",))
    assert waiting["plan"]["total"] == 1
    assert kube.get_or_none(FLOWS, "standard", ns(staging)) is None, "nothing is written before approval"
    kube.merge_patch(PROMOTIONS, "rev", {"spec": {"approved": True}}, ns(staging))
    result = wait_for_phase(kube, ns(staging), "rev")
    assert result["phase"] == "Succeeded", result
    assert kube.get(FLOWS, "standard", ns(staging))["spec"]["content"] == {"title": "reviewed"}


def test_review_fails_when_source_moved_after_the_plan(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"title": "planned"})
    kube.create(PROMOTIONS, promotion("rev", name(dev), "standard", review=True), ns(staging))
    wait_for_phase(kube, ns(staging), "rev", ("AwaitingApproval",))
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "moved"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    kube.merge_patch(PROMOTIONS, "rev", {"spec": {"approved": True}}, ns(staging))
    result = wait_for_phase(kube, ns(staging), "rev")
    assert result["phase"] == "Failed"
    assert "source moved" in result["message"]
    assert kube.get_or_none(FLOWS, "standard", ns(staging)) is None


def test_guardrail_failure_stops_promotion_before_anything_is_written(kube, running_operator, make_environment):
    dev = make_environment("Development")
    prod = make_environment(
        "Production",
        upstream=name(dev),
        policy={
            "promotion": PROMOTE_NOW,
            "guardrails": [
                {
                    "name": "sign-in-keeps-password",
                    "builtin": "requiredFields",
                    "parameters": {"forms": {"signInForm": ["currentPassword"]}},
                },
            ],
        },
    )
    dev_flow(kube, dev, {"forms": {"signInForm": {"fields": ["identifier"]}}, "fields": {"identifier": {"type": "email"}}})
    result = promote(kube, prod, "bad", environment=name(dev), source_flow="standard")
    assert result["phase"] == "Failed"
    assert "sign-in-keeps-password" in result["message"] and "currentPassword" in result["message"]
    assert kube.get_or_none(FLOWS, "standard", ns(prod)) is None


def test_identical_content_succeeds_with_nothing_to_promote(kube, running_operator, make_environment):
    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"same": True})
    assert promote(kube, staging, "first", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    result = promote(kube, staging, "again", environment=name(dev), source_flow="standard")
    assert result["phase"] == "Succeeded"
    assert "nothing to promote" in result["message"]
    assert len(versions_of(kube, staging, "standard")) == 1


def test_bad_inputs_fail_with_clear_messages_and_write_nothing(kube, running_operator, make_environment):
    dev, staging, prod = chain(make_environment)
    dev_flow(kube, dev, {"x": 1})
    cases = {
        "unknown-env": (dict(environment="nowhere", source_flow="standard"), "does not exist"),
        "unknown-flow": (dict(environment=name(dev), source_flow="missing"), "missing"),
        "unknown-version": (dict(environment=name(dev), source_flow="standard", version="7"), "no version 7"),
    }
    for pname, (kwargs, expected) in cases.items():
        result = promote(kube, staging, pname, **kwargs)
        assert result["phase"] == "Failed", (pname, result)
        assert expected in result["message"], (pname, result["message"])
    assert promote(kube, prod, "to-prod", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    # Never-committed content is refused by the API server (tests/integration/test_governance.py).
    try:
        promote(kube, staging, "uncommitted", environment=name(dev), source_flow="standard", version="uncommitted")
        raise AssertionError("uncommitted content was accepted into staging")
    except ApiError as refused:
        assert "never committed" in refused.message
    assert kube.get_or_none(PROMOTIONS, "uncommitted", ns(staging)) is None
    result = promote(kube, prod, "same", environment=name(prod), source_flow="standard", version="HEAD")
    assert result["phase"] == "Failed" and "same version" in result["message"]
    assert kube.get_or_none(FLOWS, "standard", ns(staging)) is None


def test_promotion_into_namespace_without_environment_fails(kube, running_operator, make_environment):
    from flowops.kube import NAMESPACES

    dev = make_environment("Development")
    dev_flow(kube, dev, {"x": 1})
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "no-env-here"}})
    kube.create(PROMOTIONS, promotion("orphan", name(dev), "standard"), "no-env-here")
    result = wait_for_phase(kube, "no-env-here", "orphan")
    assert result["phase"] == "Failed" and "belongs to no Environment" in result["message"]


def test_out_of_sync_report_counts_differing_paths(kube, running_operator, make_environment):
    from flowops.kube import ENVIRONMENTS
    from flowops.testing.waiting import wait_for

    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"a": 1, "b": 2, "c": 3})
    assert promote(kube, staging, "first", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    wait_for(lambda: flow_status(kube, ns(staging), "standard").get("sync", {}).get("state") == "InSync", message="in sync")
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"a": 10, "b": 20, "c": 3}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    sync = wait_for(
        lambda: (s := flow_status(kube, ns(staging), "standard").get("sync", {})).get("state") == "OutOfSync" and s,
        message="out of sync after the upstream edit",
    )
    assert sync["differingPaths"] == 2
    assert sync["upstream"] == name(dev)
    wait_for(
        lambda: kube.get(ENVIRONMENTS, name(staging)).get("status", {}).get("outOfSync") == 1, message="environment counts it"
    )


def test_the_status_that_moves_head_already_reports_it_in_sync(kube, running_operator, make_environment):
    """Whoever reads the target (kubectl, Argo CD, the Environment's counts) never sees a
    promoted HEAD beside a report about the one before; a promoted older version is
    reported out of sync by its differing paths."""
    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"a": 1, "b": 2})
    assert promote(kube, staging, "first", environment=name(dev), source_flow="standard")["phase"] == "Succeeded"
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"a": 10, "b": 2}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    wait_for(lambda: flow_status(kube, ns(staging), "standard").get("sync", {}).get("state") == "OutOfSync", message="behind")

    statuses = ObjectWrites(kube, FLOWS, ns(staging), "standard", lambda obj: obj.get("status") or {})
    try:
        second = promote(kube, staging, "second", environment=name(dev), source_flow="standard")
        assert second["phase"] == "Succeeded", second
        # The writes naming the second promotion's HEAD all come before this one moves it.
        older = promote(kube, staging, "older", environment=name(dev), source_flow="standard", version="1")
        assert older["phase"] == "Succeeded", older
        statuses.catch_up(kube)
    finally:
        statuses.close()
    reports = [(s.get("sync") or {}) for s in statuses.writes if s.get("latestReadyVersion") == second["targetVersion"]]
    assert reports, "the promoted version became HEAD"
    assert all(r.get("version") == second["targetVersion"] and r.get("state") == "InSync" for r in reports), reports
    report = wait_for(
        lambda: (r := flow_status(kube, ns(staging), "standard")["sync"]).get("version") == older["targetVersion"] and r,
        message="the report on the promoted older version",
    )
    assert report["state"] == "OutOfSync" and report["differingPaths"] == 1, report


def test_promotion_spec_is_immutable_except_approval(kube, running_operator, make_environment, cluster):
    import pytest

    from flowops.kube import Invalid

    dev, staging, _ = chain(make_environment)
    dev_flow(kube, dev, {"x": 1})
    kube.create(PROMOTIONS, promotion("frozen", name(dev), "standard", review=True), ns(staging))
    with pytest.raises(Invalid) as refused:
        kube.merge_patch(PROMOTIONS, "frozen", {"spec": {"source": {"flow": "other"}}}, ns(staging))
    assert "spec.source is immutable" in refused.value.message


def test_killed_after_the_target_version_resumes_and_still_records_last_promotion(
    kube, make_environment, crashing_operator, operator
):
    dev, staging, _ = chain(make_environment)
    first = crashing_operator("after-version-created")  # dies on the dev commit, before its status
    kube.create(FLOWS, flow("standard", {"title": "ship"}), ns(dev))
    wait_for(lambda: not first.alive(), timeout=30, message="the operator to kill itself after the dev commit")
    second = crashing_operator("after-version-created")  # resumes dev (no new version), dies on the promotion's commit
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.create(PROMOTIONS, promotion("ship", name(dev), "standard"), ns(staging))
    wait_for(lambda: not second.alive(), timeout=30, message="the operator to kill itself after the target version")
    assert len(versions_of(kube, staging, "standard")) == 1
    assert not (kube.get(FLOWS, "standard", ns(staging)).get("status") or {}).get("lastPromotion")

    operator.start()
    result = wait_for_phase(kube, ns(staging), "ship")
    assert result["phase"] == "Succeeded", result
    assert len(versions_of(kube, staging, "standard")) == 1
    last = wait_for(
        lambda: (kube.get(FLOWS, "standard", ns(staging)).get("status") or {}).get("lastPromotion"),
        timeout=10,
        message="lastPromotion on the target",
    )
    assert last["name"] == "ship" and last["version"] == result["targetVersion"]


# -- identity, impact, git-safe Promotions ---------------------------------------------------

KUBECTL_FLOWOPS = Path(sys.executable).parent / "kubectl-flowops"


@pytest.fixture
def cli(cluster):
    def run(*args: str, user: str = "admin") -> subprocess.CompletedProcess:
        command = [str(KUBECTL_FLOWOPS), *args, "--kubeconfig", str(cluster.kubeconfig), "--context", f"flowops-{user}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": ""})
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return run


def binding(kind, obj_name, flow_name=None, version=None, application=None):
    spec = {}
    if flow_name or version:
        spec["defaultFlow"] = {k: v for k, v in (("name", flow_name), ("version", version)) if v}
    if application:
        spec["application"] = application
    return {"apiVersion": "flowops.io/v1alpha1", "kind": kind, "metadata": {"name": obj_name}, "spec": spec}


def test_reviewed_promotion_shows_impact_and_records_requester_approver_and_comment_on_the_version(
    cli, kube, running_operator, make_environment
):
    dev = make_environment("Development")
    # Protected (it has an upstream): review and a second person by default.
    staging = make_environment(
        "Staging", upstream=name(dev), policy={"allowHeadBindings": True, "promotion": {"allowHeadSource": True}}
    )
    kube.create(APPLICATIONS, binding("Application", "web", "login"), ns(staging))
    kube.create(APICLIENTS, binding("ApiClient", "web-frontend", application="web"), ns(staging))
    kube.create(APICLIENTS, binding("ApiClient", "mobile", "login", "1"), ns(staging))
    dev_flow(kube, dev, {"title": "Sign in"}, name="login")

    asked = cli("promote", "login", "--from", name(dev), "--to", name(staging), "--comment", "ship it", user="promoter")
    assert asked.returncode == 0, asked
    assert "AwaitingApproval" in asked.stdout and "requires review" in asked.stderr
    assert "switch at once (follow HEAD): Application/web, ApiClient/web-frontend" in asked.stdout, asked.stdout
    assert "unaffected (pinned): ApiClient/mobile@1" in asked.stdout
    pname = next(w for w in asked.stdout.split() if w.startswith("promotion.flowops.io/")).split("/", 1)[1]
    waiting = kube.get(PROMOTIONS, pname, ns(staging))["status"]
    assert waiting["plan"]["impact"]["pinned"] == [{"kind": "ApiClient", "name": "mobile", "version": "1"}]
    assert "requested by bob-promoter" in waiting["message"]

    approved = cli("approve", pname, "-n", name(staging), user="approver")
    assert approved.returncode == 0, approved
    assert "Succeeded" in approved.stdout
    result = kube.get(PROMOTIONS, pname, ns(staging))["status"]
    landed = kube.list(FLOWVERSIONS, ns(staging), label_selector=f"flowops.io/version={result['targetVersion']}")
    provenance = landed[0]["spec"]["provenance"]
    assert provenance["requestedBy"]["username"] == "bob-promoter"
    assert provenance["approvedBy"]["username"] == "dave-approver" and provenance["approvedBy"]["via"] == "Cluster"
    assert provenance["comment"] == "ship it" and provenance["name"] == pname
    assert provenance["plan"] == {"total": 1, "paths": ["/title"]}

    # The Flow's Event follows the Promotion's outcome.
    wait_for(
        lambda: any(
            "requested by bob-promoter, approved by dave-approver" in e["message"]
            for e in kube.list_events(ns(staging))
            if e.get("reason") == "Promoted"
        ),
        message="the Promoted Event naming requester and approver",
    )

    kube.delete(PROMOTIONS, pname, ns(staging))
    wait_for(lambda: kube.get_or_none(PROMOTIONS, pname, ns(staging)) is None, message="the Promotion to be gone")
    history = cli("history", "login", "-n", name(staging), "-o", "json", user="viewer")
    newest = json.loads(history.stdout)["versions"][0]
    assert newest["provenance"]["requestedBy"]["username"] == "bob-promoter", "the audit outlives the Promotion"
    assert newest["provenance"]["approvedBy"]["username"] == "dave-approver" and newest["message"] == "ship it"
    table = cli("history", "login", "-n", name(staging), user="viewer")
    assert "bob-promoter, approved by dave-approver" in table.stdout, table.stdout


def test_a_pinned_promotion_from_dry_run_lands_once_and_a_recreated_copy_writes_nothing(
    cli, kube, running_operator, make_environment
):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), policy={"promotion": PROMOTE_NOW})
    dev_flow(kube, dev, {"title": "one"})
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "two"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)

    printed = cli(
        "promote",
        "standard",
        "--from",
        name(dev),
        "--to",
        name(staging),
        "--version",
        "1",
        "--dry-run=client",
        "-o",
        "yaml",
        user="promoter",
    )
    assert printed.returncode == 0, printed
    manifest = yaml.safe_load(printed.stdout)
    assert manifest["metadata"] == {"name": f"standard-from-{name(dev)}-v1", "namespace": ns(staging)}
    assert manifest["spec"]["source"]["version"] == content_hash({"title": "one"}), "pinned by content, the same in every cluster"
    assert kube.list(PROMOTIONS, ns(staging)) == [], "a dry run creates nothing"

    kube.create(PROMOTIONS, manifest, ns(staging))
    first = wait_for_phase(kube, ns(staging), manifest["metadata"]["name"])
    assert first["phase"] == "Succeeded" and first["targetNumber"] == 1, first
    assert kube.get(FLOWS, "standard", ns(staging))["spec"]["content"] == {"title": "one"}

    # As Flux does on prune and re-apply, or a cluster restored from git: the same name and spec again.
    kube.delete(PROMOTIONS, manifest["metadata"]["name"], ns(staging))
    wait_for(lambda: kube.get_or_none(PROMOTIONS, manifest["metadata"]["name"], ns(staging)) is None, message="deleted")
    kube.create(PROMOTIONS, manifest, ns(staging))
    again = wait_for_phase(kube, ns(staging), manifest["metadata"]["name"])
    assert again["phase"] == "Succeeded" and "already promoted" in again["message"], again
    assert again["targetVersion"] == first["targetVersion"]

    # Barrier: a later promotion the operator must handle; then exactly its version was added.
    assert promote(kube, staging, "next", environment=name(dev), source_flow="standard", version="2")["phase"] == "Succeeded"
    found = sorted(versions_of(kube, staging, "standard"), key=lambda v: v["spec"]["number"])
    assert [v["spec"]["number"] for v in found] == [1, 2]
    assert [v["spec"]["provenance"]["name"] for v in found] == [manifest["metadata"]["name"], "next"]


def test_a_recreated_promotion_is_recognised_after_history_moved_past_its_version(kube, running_operator, make_environment):
    """A Promotion git still holds keeps the version it landed through retention, so a
    prune and re-apply of it later finds its provenance and does not roll the target back."""
    dev = make_environment("Development")
    # Unprotected only so the test can change a setting of the target flow (below).
    staging = make_environment(
        "Staging", upstream=name(dev), protected=False, policy={"promotion": PROMOTE_NOW, "historyLimit": 2}
    )
    # Unrelated text in each version: every version is stored whole, so no later version
    # keeps an earlier one as its base and only a pin can keep it.
    dev_flow(kube, dev, content("one"))
    for number, title in ((2, "two"), (3, "three"), (4, "four")):
        kube.merge_patch(FLOWS, "standard", {"spec": {"content": content(title)}}, ns(dev))
        wait_for_number(kube, ns(dev), "standard", number)

    releases = {f"release-{n}": promotion(f"release-{n}", name(dev), "standard", version=str(n)) for n in (1, 2, 3)}
    landed = {}
    for release, body in releases.items():
        kube.create(PROMOTIONS, body, ns(staging))
        landed[release] = wait_for_phase(kube, ns(staging), release)["targetVersion"]

    # Flux's prune and re-apply: the same name and spec, a new object. In between, the
    # target flow is reconciled without a new version (one of its settings changes, as in
    # the same sync): that trims no history, so release-1's version is still there.
    kube.delete(PROMOTIONS, "release-1", ns(staging))
    wait_for(lambda: kube.get_or_none(PROMOTIONS, "release-1", ns(staging)) is None, message="release-1 deleted")
    changed = kube.merge_patch(FLOWS, "standard", {"spec": {"versioning": {"historyLimit": 2}}}, ns(staging))
    wait_for(
        lambda: flow_status(kube, ns(staging), "standard").get("observedGeneration") == changed["metadata"]["generation"],
        message="the setting change reconciled",
    )
    assert numbers_of(kube, staging) == [1, 2, 3], "no version was added, so none was pruned"
    kube.create(PROMOTIONS, releases["release-1"], ns(staging))
    again = wait_for_phase(kube, ns(staging), "release-1")
    assert again["phase"] == "Succeeded" and "already promoted" in again["message"], again
    assert again["targetVersion"] == landed["release-1"]
    assert kube.get(FLOWS, "standard", ns(staging))["spec"]["content"] == content("three"), "not rolled back"
    # Three versions at a limit of two: the one release-1 landed stayed while release-1 existed.
    stored = sorted(versions_of(kube, staging, "standard"), key=lambda v: v["spec"]["number"])
    assert [(v["spec"]["number"], v["spec"]["storage"]["encoding"]) for v in stored] == [(1, "Full"), (2, "Full"), (3, "Full")]

    # Once git lets release-1 go, history is bounded again: the next promotion prunes its version.
    kube.delete(PROMOTIONS, "release-1", ns(staging))
    wait_for(lambda: kube.get_or_none(PROMOTIONS, "release-1", ns(staging)) is None, message="release-1 deleted")
    kube.create(PROMOTIONS, promotion("release-4", name(dev), "standard", version="4"), ns(staging))
    assert wait_for_phase(kube, ns(staging), "release-4")["phase"] == "Succeeded"
    wait_for(lambda: numbers_of(kube, staging) == [2, 3, 4], message="release-1's version pruned")
    assert kube.get(FLOWS, "standard", ns(staging))["spec"]["content"] == content("four")


def numbers_of(kube, env) -> list[int]:
    return sorted(v["spec"]["number"] for v in versions_of(kube, env, "standard"))


def content(title: str) -> dict:
    return {"title": title, "body": hashlib.sha256(title.encode()).hexdigest() * 40}


def test_a_forged_promotion_annotation_is_an_ordinary_edit(kube, kube_as, running_operator, make_environment):
    dev = make_environment("Development")
    kube.create(FLOWS, flow("manual", {"title": "one"}, versioning={"mode": "Manual"}), ns(dev))
    wait_for_number(kube, ns(dev), "manual", 1)
    forged = json.dumps(
        {"uid": "no-such-uid", "name": "ship", "namespace": ns(dev), "contentHash": content_hash({"title": "two"})}
    )
    # Even written with the operator's own rights (admission keeps everyone else off the key).
    kube_as("operator").merge_patch(
        FLOWS,
        "manual",
        {"metadata": {"annotations": {"flowops.io/promotion": forged}}, "spec": {"content": {"title": "two"}}},
        ns(dev),
    )
    status = wait_for(
        lambda: (s := flow_status(kube, ns(dev), "manual")).get("uncommitted") and s,
        message="the forged edit to stay uncommitted (Manual mode), not commit as a promotion",
    )
    assert status["versionCount"] == 1
    events = [e["message"] for e in kube.list_events(ns(dev)) if e.get("reason") == "ProvenanceRejected"]
    assert any("Promotion ship does not exist" in m for m in events), events


def test_promoting_a_version_that_failed_its_guardrails_names_the_rules(kube, running_operator, make_environment):
    dev = make_environment(
        "Development",
        policy={"guardrails": [{"name": "title-not-empty", "expression": "content.title != ''", "message": "set /title"}]},
    )
    staging = make_environment("Staging", upstream=name(dev), policy={"promotion": PROMOTE_NOW})
    dev_flow(kube, dev, {"title": "ok"})
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": ""}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    result = promote(kube, staging, "broken", environment=name(dev), source_flow="standard", version="2")
    assert result["phase"] == "Failed" and "title-not-empty" in result["message"], result
    assert kube.get_or_none(FLOWS, "standard", ns(staging)) is None


def test_a_pinned_source_version_is_judged_by_the_source_environments_rules_in_force(kube, running_operator, make_environment):
    """Version 1 passed the development rules it was committed under, and fails the rule
    added since (version 2, HEAD, passes it, so no re-evaluation reached version 1)."""
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), policy={"promotion": PROMOTE_NOW})
    dev_flow(kube, dev, {"title": "a"})
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "b", "footer": "f"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    rule = {"name": "needs-footer", "expression": "has(content.footer)", "message": "add /footer"}
    kube.merge_patch(ENVIRONMENTS, name(dev), {"spec": {"policy": {"guardrails": [rule]}}})
    wait_for(
        lambda: any(
            g["name"] == "needs-footer" for g in (kube.get(ENVIRONMENTS, name(dev)).get("status") or {}).get("guardrails", [])
        ),
        message="development's new rules in its status",
    )
    assert flow_status(kube, ns(dev), "standard")["latestReadyNumber"] == 2
    result = promote(kube, staging, "old", environment=name(dev), source_flow="standard", version="1")
    ready = next(c for c in result["conditions"] if c["type"] == "Ready")
    assert result["phase"] == "Failed" and ready["reason"] == "VersionNotReady", result
    assert "needs-footer" in result["message"] and "add /footer" in result["message"], result
    assert kube.get_or_none(FLOWS, "standard", ns(staging)) is None, "nothing written"


def test_a_forged_promotion_record_in_a_protected_environment_is_restored_as_tampering(
    kube, kube_as, running_operator, make_environment
):
    dev = make_environment("Development")
    prod = make_environment("Production", upstream=name(dev), policy={"promotion": PROMOTE_NOW})
    dev_flow(kube, dev, {"title": "one"})
    shipped = promote(kube, prod, "ship", environment=name(dev), source_flow="standard", version="1")
    assert shipped["phase"] == "Succeeded", shipped
    real = kube.get(PROMOTIONS, "ship", ns(prod))["metadata"]["uid"]
    # The real Promotion's name and uid, but content it never planned.
    forged = json.dumps({"uid": real, "name": "ship", "namespace": ns(prod), "contentHash": content_hash({"title": "forged"})})
    kube_as("operator").merge_patch(
        FLOWS,
        "standard",
        {"metadata": {"annotations": {"flowops.io/promotion": forged}}, "spec": {"content": {"title": "forged"}}},
        ns(prod),
    )
    wait_for(
        lambda: kube.get(FLOWS, "standard", ns(prod))["spec"]["content"] == {"title": "one"},
        message="the forged content to be restored",
    )
    promoted = [v for v in versions_of(kube, prod, "standard") if v["spec"]["origin"] == "Promotion"]
    assert len(promoted) == 1, "nothing was committed as promoted"
    events = [e["message"] for e in kube.list_events(ns(prod)) if e.get("reason") == "ProvenanceRejected"]
    assert any("Promotion ship did not plan this content" in m for m in events), events


def test_a_freeze_set_while_the_operator_was_down_stops_an_admitted_promotion(kube, operator, make_environment):
    from flowops.kube import ENVIRONMENTS

    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), policy={"promotion": PROMOTE_NOW})
    if not operator.alive():
        operator.start()
    dev_flow(kube, dev, {"title": "one"})
    operator.stop()
    try:
        # Admitted while the environment was open; the line is stopped before the operator acts.
        kube.create(PROMOTIONS, promotion("ship", name(dev), "standard", "1"), ns(staging))
        kube.merge_patch(ENVIRONMENTS, name(staging), {"spec": {"freeze": {"reason": "incident 42"}}})
    finally:
        operator.start()
    result = wait_for_phase(kube, ns(staging), "ship")
    assert result["phase"] == "Failed" and "frozen: incident 42" in result["message"], result
    assert kube.get_or_none(FLOWS, "standard", ns(staging)) is None, "nothing was written"
