"""flowops driven through git: a real push, real Flux controllers, real reconciliations.

Every Kustomization applies as the `flowops-applier` ServiceAccount with the shipped roles
bound per namespace (never as the controller itself); reconciles are requested with the
`reconcile.fluxcd.io/requestedAt` annotation instead of waiting for intervals.
"""

from __future__ import annotations

import copy

import pytest

from flowops import names
from flowops.devcluster.controlplane import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT
from flowops.kube import FLOWS, FLOWVERSIONS, PROMOTIONS
from flowops.testing.gitops import applier_username, condition, ensure_service_account, grant
from flowops.testing.objects import flow_status, wait_for_number
from flowops.testing.waiting import wait_for

APPLIER = "flowops-applier"
# Reconciles of an unchanged commit in the idle test, each awaited.
IDLE_ROUNDS = 20
PASSWORD_RULE = {
    "name": "sign-in-keeps-password",
    "builtin": "requiredFields",
    "parameters": {"forms": {"signInForm": ["identifier", "currentPassword"]}},
}
GUARDRAILS = {"guardrails": [PASSWORD_RULE]}


def ns(env):
    return env["spec"]["namespace"]


def document(title: str, password: bool = True) -> dict:
    fields = ["identifier", "currentPassword"] if password else ["identifier"]
    return {
        "title": title,
        "fields": {"identifier": {"type": "text"}, "currentPassword": {"type": "password"}},
        "forms": {"signInForm": {"fields": fields}},
    }


def flow_manifest(name: str, namespace: str, content: dict, cause: str | None = None, **spec) -> dict:
    meta: dict = {"name": name, "namespace": namespace}
    if cause:
        meta["annotations"] = {names.ANN_CHANGE_CAUSE: cause}
    return {"apiVersion": "flowops.io/v1alpha1", "kind": "Flow", "metadata": meta, "spec": {"content": content, **spec}}


def promotion_manifest(name: str, namespace: str, source_env: str, flow: str, version: str, **spec) -> dict:
    return {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Promotion",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"source": {"environment": source_env, "flow": flow, "version": version}, **spec},
    }


def versions_of(kube, namespace, name):
    items = kube.list(FLOWVERSIONS, namespace, label_selector=f"{names.LABEL_FLOW}={name}")
    return sorted(items, key=lambda v: v["spec"]["number"])


def flow_events(kube, namespace, name, reason):
    return [
        e for e in kube.list_events(namespace) if e.get("involvedObject", {}).get("name") == name and e.get("reason") == reason
    ]


@pytest.fixture
def applier(kube, flux):
    """The least-privileged identity Flux applies with: the shipped editor role where flows
    are edited, the promoter role where Promotions land, nothing cluster-wide."""
    ensure_service_account(kube, APPLIER)

    def grant_in(env, *roles: str) -> None:
        for role in roles:
            grant(kube, APPLIER, ns(env), role)

    return grant_in


@pytest.fixture
def dev(make_environment, applier):
    env = make_environment("Development", policy=GUARDRAILS)
    applier(env, "flowops-editor")
    return env


def test_dev_edit_in_git_becomes_a_version_that_records_flux_and_a_repeated_cause_says_so(kube, running_operator, flux_sync, dev):
    repo = flux_sync(APPLIER)
    n = ns(dev)
    repo.write("dev/login.yaml", flow_manifest("login", n, document("v1"), cause="First sign-in form"))
    repo.push("login v1")
    repo.wait_ready()
    status = wait_for_number(kube, n, "login", 1)
    (first,) = versions_of(kube, n, "login")
    assert first["spec"]["message"] == "First sign-in form"
    assert first["spec"]["appliedBy"] == {"tool": "Flux", "source": f"Kustomization flux-system/{repo.name}"}
    assert status["latestReadyNumber"] == 1

    # The next pull request edits the content and leaves the annotation as it was.
    repo.write("dev/login.yaml", flow_manifest("login", n, document("v2"), cause="First sign-in form"))
    repo.push("login v2")
    repo.wait_ready()
    wait_for_number(kube, n, "login", 2)
    second = versions_of(kube, n, "login")[-1]
    assert second["spec"]["message"] == "content changed; change-cause unchanged since version 1"
    assert second["metadata"]["annotations"][names.ANN_CHANGE_CAUSE] == "First sign-in form"

    repo.write("dev/login.yaml", flow_manifest("login", n, document("v3"), cause="Shorter title"))
    repo.push("login v3")
    repo.wait_ready()
    wait_for_number(kube, n, "login", 3)
    third = versions_of(kube, n, "login")[-1]
    assert third["spec"]["message"] == "Shorter title"
    events = flow_events(kube, n, "login", "VersionCreated")
    assert any(f"applied by Flux (Kustomization flux-system/{repo.name})" in e["message"] for e in events), events


def test_pruning_a_flow_from_git_keeps_its_history_and_bringing_it_back_continues_it(kube, running_operator, flux_sync, dev):
    repo = flux_sync(APPLIER)
    n = ns(dev)
    repo.write("dev/login.yaml", flow_manifest("login", n, document("v1")))
    repo.push("v1")
    repo.wait_ready()
    wait_for_number(kube, n, "login", 1)
    repo.write("dev/login.yaml", flow_manifest("login", n, document("v2")))
    repo.push("v2")
    repo.wait_ready()
    v2 = wait_for_number(kube, n, "login", 2)["latestReadyVersion"]

    repo.remove("dev/login.yaml")
    repo.write("dev/keep.yaml", flow_manifest("keep", n, document("other")))  # the Kustomization is not empty
    repo.push("drop login from git")
    repo.wait_ready()
    assert kube.get_or_none(FLOWS, "login", n) is None, "Flux pruned the Flow"
    assert [v["spec"]["number"] for v in versions_of(kube, n, "login")] == [1, 2]

    repo.write("dev/login.yaml", flow_manifest("login", n, document("v2")))
    repo.push("login is back")
    repo.wait_ready()
    status = wait_for(
        lambda: (s := flow_status(kube, n, "login")).get("observedGeneration") == 1 and s.get("versionCount") and s,
        message="the returning flow is observed",
    )
    assert status["versionCount"] == 2 and status["latestReadyVersion"] == v2, status
    repo.write("dev/login.yaml", flow_manifest("login", n, document("v3")))
    repo.push("v3")
    repo.wait_ready()
    wait_for_number(kube, n, "login", 3)
    assert versions_of(kube, n, "login")[-1]["spec"]["parent"] == v2


def test_idle_kustomization_reapplied_again_and_again_creates_no_version_and_no_status_churn(
    kube, running_operator, flux_sync, dev
):
    repo = flux_sync(APPLIER)
    n = ns(dev)
    repo.write("dev/login.yaml", flow_manifest("login", n, document("steady"), cause="steady state"))
    repo.push("steady")
    repo.wait_ready()
    wait_for_number(kube, n, "login", 1)
    before = kube.get(FLOWS, "login", n)["metadata"]["resourceVersion"]
    versions_before = {v["metadata"]["name"]: v["metadata"]["resourceVersion"] for v in versions_of(kube, n, "login")}

    # Flux re-applying the same commit round after round, each reconcile confirmed done
    # (lastHandledReconcileAt) before the next is asked for.
    for _ in range(IDLE_ROUNDS):
        repo.reconcile_ready(timeout=60)

    # Barrier: an edit pushed now is handled, so the idle rounds had every chance to write.
    assert kube.get(FLOWS, "login", n)["metadata"]["resourceVersion"] == before, "the Flow was written while nothing changed"
    assert {v["metadata"]["name"]: v["metadata"]["resourceVersion"] for v in versions_of(kube, n, "login")} == versions_before
    repo.write("dev/login.yaml", flow_manifest("login", n, document("moved"), cause="steady state"))
    repo.push("moved")
    repo.wait_ready()
    assert wait_for_number(kube, n, "login", 2)["versionCount"] == 2


def test_production_flow_in_git_is_denied_and_the_kustomization_names_the_promotion(
    kube, running_operator, flux_sync, make_environment, applier
):
    prod = make_environment("Production")
    applier(prod, "flowops-editor")  # RBAC would allow it: the protection is what refuses
    repo = flux_sync(APPLIER)
    repo.write("prod/login.yaml", flow_manifest("login", ns(prod), document("straight to prod")))
    repo.push("edit production directly")
    ready, message = repo.wait_outcome(timeout=90)
    assert ready == "False"
    assert "is protected" in message and "Promotion" in message, message
    assert kube.get_or_none(FLOWS, "login", ns(prod)) is None


def test_flowversion_in_git_is_refused_to_the_least_privileged_applier(kube, running_operator, flux_sync, dev):
    repo = flux_sync(APPLIER)
    forged = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "FlowVersion",
        "metadata": {"name": "login-20260101000000000001", "namespace": ns(dev)},
        "spec": {
            "flow": "login",
            "id": "20260101000000000001",
            "number": 1,
            "origin": "Commit",
            "contentHash": "sha256:" + "0" * 64,
            "storage": {"encoding": "Full", "data": "", "bytes": 0},
        },
    }
    repo.write("dev/forged.yaml", forged)
    repo.push("forge history")
    ready, message = repo.wait_outcome(timeout=90)
    assert ready == "False"
    assert "forbidden" in message.lower() and applier_username(APPLIER) in message, message
    assert kube.get_or_none(FLOWVERSIONS, "login-20260101000000000001", ns(dev)) is None


def test_guardrail_breaking_edit_fails_the_kustomization_with_the_rule_and_a_fix_is_the_next_version(
    kube, running_operator, flux_sync, dev
):
    # A ten-minute timeout: the failure must come from the Flow's Stalled condition, not the timeout.
    repo = flux_sync(APPLIER, timeout="10m")
    n = ns(dev)
    repo.write("dev/login.yaml", flow_manifest("login", n, document("good")))
    repo.push("good")
    repo.wait_ready()
    head = wait_for_number(kube, n, "login", 1)["latestReadyVersion"]

    repo.write("dev/login.yaml", flow_manifest("login", n, document("no password", password=False)))
    repo.push("drop the password field")
    ready, message = repo.wait_outcome(timeout=90)
    # Flux fails at once on the stalled Flow (kstatus Failed) instead of waiting out its
    # timeout; its message names the object, the Flow's Stalled condition names the rule.
    assert ready == "False"
    assert "stalled" in message and "login" in message and "timeout" not in message.lower(), message
    status = flow_status(kube, n, "login")
    stalled = condition({"status": status}, "Stalled")
    assert stalled.get("status") == "True" and "sign-in-keeps-password" in stalled.get("message", ""), status
    assert status["latestCreatedNumber"] == 2 and status["latestReadyVersion"] == head

    repo.write("dev/login.yaml", flow_manifest("login", n, document("fixed")))
    repo.push("put the password field back")
    repo.wait_ready()
    status = wait_for_number(kube, n, "login", 3, field="latestReadyNumber")
    assert status["latestReadyVersion"] != head


def test_a_new_flow_keeps_flux_waiting_until_the_operator_has_versioned_it(kube, running_operator, flux_sync, dev):
    """A new Flow's status says observedGeneration 0 until the operator has seen it, so
    Flux's health check waits on it instead of calling a Flow nobody versioned Ready. With
    the operator stopped, Flux's own verdict (its health-check timeout) is the proof."""
    repo = flux_sync(APPLIER, timeout="15s")
    n = ns(dev)
    running_operator.stop()
    try:
        repo.write("dev/login.yaml", flow_manifest("login", n, document("v1")))
        repo.push("login v1")
        ready, message = repo.wait_outcome(timeout=120)
        assert ready == "False" and "timeout" in message.lower() and "Flow/" in message and "login" in message, message
        assert flow_status(kube, n, "login") == {"observedGeneration": 0}, "nothing observed it"
    finally:
        running_operator.start()
    # A restarted operator catches up on every object first: wait for it, then ask Flux again.
    assert wait_for_number(kube, n, "login", 1, timeout=180)["latestReadyNumber"] == 1
    repo.reconcile_ready()


@pytest.fixture
def staging(make_environment, dev, applier):
    """Downstream of dev, protected (it has an upstream); the applier may create Promotions
    there and read its source."""
    env = make_environment(
        "Staging",
        upstream=dev["metadata"]["name"],
        policy={
            **GUARDRAILS,
            "promotion": {"requireReview": False, "gitopsApprovers": [applier_username(APPLIER)]},
        },
    )
    applier(env, "flowops-promoter")
    applier(dev, "flowops-viewer")
    return env


def _promoted_dev_flow(kube, repo, dev):
    n = ns(dev)
    repo.write("dev/login.yaml", flow_manifest("login", n, document("tested")))
    repo.push("dev content")
    repo.wait_ready()
    wait_for_number(kube, n, "login", 1)
    return versions_of(kube, n, "login")[-1]


def test_pinned_promotion_in_git_promotes_once_and_a_recreated_one_writes_nothing(
    kube, running_operator, flux_sync, dev, staging
):
    repo = flux_sync(APPLIER)
    tested = _promoted_dev_flow(kube, repo, dev)
    pinned = promotion_manifest("login-to-staging", ns(staging), dev["metadata"]["name"], "login", tested["spec"]["contentHash"])
    repo.write("staging/promotions/login.yaml", pinned)
    repo.push("promote login, pinned by content hash")
    repo.wait_ready()
    landed = kube.get(PROMOTIONS, "login-to-staging", ns(staging))["status"]
    assert landed["phase"] == "Succeeded"
    target = kube.get(FLOWS, "login", ns(staging))

    # Dev moves on; the Promotion is pruned and re-created (force, restore, rebuild).
    repo.write("dev/login.yaml", flow_manifest("login", ns(dev), document("untested")))
    repo.remove("staging/promotions/login.yaml")
    repo.push("prune the promotion")
    repo.wait_ready()
    wait_for_number(kube, ns(dev), "login", 2)
    repo.write("staging/promotions/login.yaml", pinned)
    repo.push("the same promotion again")
    repo.wait_ready()
    again = kube.get(PROMOTIONS, "login-to-staging", ns(staging))["status"]
    assert again["phase"] == "Succeeded" and again.get("targetVersion") == landed.get("targetVersion"), again
    after = kube.get(FLOWS, "login", ns(staging))
    assert after["status"].get("lastPromotion") == target["status"].get("lastPromotion")
    assert after["metadata"].get("annotations") == target["metadata"].get("annotations")
    assert after["spec"] == target["spec"]
    assert len(versions_of(kube, ns(staging), "login")) == 1


def test_promotion_with_review_in_git_keeps_the_kustomization_healthy_and_approval_in_git_promotes(
    kube, running_operator, flux_sync, dev, make_environment, applier
):
    prod = make_environment(
        "Production",
        upstream=dev["metadata"]["name"],
        policy={
            **GUARDRAILS,
            "promotion": {"gitopsApprovers": [applier_username(APPLIER)]},
        },
    )
    applier(prod, "flowops-promoter")
    applier(dev, "flowops-viewer")
    repo = flux_sync(APPLIER, timeout="10m")
    tested = _promoted_dev_flow(kube, repo, dev)
    request = promotion_manifest(
        "login-to-prod",
        ns(prod),
        dev["metadata"]["name"],
        "login",
        tested["spec"]["contentHash"],
        review=True,
        comment="release 42",
    )
    repo.write("prod/promotions/login.yaml", request)
    repo.push("request promotion to production")
    repo.wait_ready(timeout=90)  # awaiting approval is not a failed sync
    assert kube.get(PROMOTIONS, "login-to-prod", ns(prod))["status"]["phase"] == "AwaitingApproval"
    assert kube.get_or_none(FLOWS, "login", ns(prod)) is None

    approved = copy.deepcopy(request)
    approved["spec"]["approved"] = True
    repo.write("prod/promotions/login.yaml", approved)
    repo.push("approved in review of pull request 42")
    repo.wait_ready(timeout=90)
    status = wait_for(
        lambda: (s := kube.get(PROMOTIONS, "login-to-prod", ns(prod)).get("status") or {}).get("phase") == "Succeeded" and s,
        message="promotion succeeded",
    )
    (version,) = versions_of(kube, ns(prod), "login")
    assert version["spec"]["id"] == status["targetVersion"]
    assert version["spec"]["provenance"]["approvedBy"]["via"] == "GitOps"


def test_writer_reapplying_a_production_flow_as_the_operator_is_quarantined_once_and_stalls(
    kube, cluster, running_operator, flux_sync, dev, make_environment
):
    prod = make_environment("Production", upstream=dev["metadata"]["name"], policy={"promotion": {"requireReview": False}})
    n = ns(prod)
    kube.create(FLOWS, flow_manifest("login", ns(dev), document("released")), ns(dev))
    wait_for_number(kube, ns(dev), "login", 1)
    kube.create(PROMOTIONS, promotion_manifest("release", n, dev["metadata"]["name"], "login", "1"), n)
    wait_for(
        lambda: (kube.get(PROMOTIONS, "release", n).get("status") or {}).get("phase") == "Succeeded",
        timeout=60,
        message="released",
    )

    # A Kustomization that impersonates the operator's own ServiceAccount: the admission
    # policy trusts it, so only the operator's tamper defence stands in the way.
    repo = flux_sync(OPERATOR_SERVICE_ACCOUNT, namespace=OPERATOR_NAMESPACE, timeout="30s")
    repo.write("prod/login.yaml", flow_manifest("login", n, document("hotfix straight in prod")))
    repo.push("hotfix")
    repo.wait_outcome(timeout=90)
    # Each outcome of an asked-for reconcile, not the last one's that is still readable:
    # two more applies of the same edit after its first revert.
    for _ in range(2):
        ready, message = repo.reconcile_outcome(timeout=90)
    status = flow_status(kube, n, "login")
    assert condition({"status": status}, "Stalled").get("status") == "True", status
    assert condition({"status": status}, "Ready").get("status") == "False", status
    assert status["tampered"]["reapplied"] >= 2, status["tampered"]
    assert ready == "False" and "login" in message, message
    quarantined = [v for v in versions_of(kube, n, "login") if v["spec"]["origin"] == "Quarantine"]
    assert len(quarantined) == 1, [v["metadata"]["name"] for v in quarantined]
    assert any(
        "kustomize-controller" in e["message"]
        for e in kube.list_events(n)
        if e.get("involvedObject", {}).get("name") == "login" and e.get("type") == "Warning"
    )
