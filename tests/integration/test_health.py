"""Health as Flux (the kstatus library itself, hack/kstatus) and Argo CD (the shipped Lua
checks) read it, on real objects in each state. The whole module runs the operator as the Deployment does: no --verbose, JSON logs."""

from __future__ import annotations

import json

import pytest

from flowops.kube import APICLIENTS, APPLICATIONS, ENVIRONMENTS, FLOWS, FLOWVERSIONS, PROMOTIONS
from flowops.testing import argocd, kstatus
from flowops.testing.objects import flow, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for

RULE = [{"name": "has-title", "expression": "has(content.title)", "message": "add a title"}]


def ns(env):
    return env["spec"]["namespace"]


def health(kind, obj):
    """(kstatus status, Argo CD status) of one live object."""
    return kstatus.compute(obj)[0], argocd.health(kind, obj)[0]


def observed(kube, resource, name, namespace=None, timeout=30):
    def seen():
        obj = kube.get(resource, name, namespace)
        return obj if (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"] else None

    return wait_for(seen, timeout=timeout, message=f"{name} observed")


@pytest.fixture(scope="module")
def operator_proc(production_operator):
    return production_operator


def test_new_objects_are_in_progress_until_the_operator_observes_them(kube, cluster, operator_proc, make_environment):
    env = make_environment()
    operator_proc.stop()
    try:
        created = {
            "Flow": (FLOWS, kube.create(FLOWS, flow("fresh", {"title": "t"}), ns(env))),
            "Application": (
                APPLICATIONS,
                kube.create(
                    APPLICATIONS,
                    {
                        "apiVersion": "flowops.io/v1alpha1",
                        "kind": "Application",
                        "metadata": {"name": "web"},
                        "spec": {"defaultFlow": {"name": "fresh"}},
                    },
                    ns(env),
                ),
            ),
            "ApiClient": (
                APICLIENTS,
                kube.create(
                    APICLIENTS,
                    {
                        "apiVersion": "flowops.io/v1alpha1",
                        "kind": "ApiClient",
                        "metadata": {"name": "web-a"},
                        "spec": {"application": "web"},
                    },
                    ns(env),
                ),
            ),
            "Promotion": (PROMOTIONS, kube.create(PROMOTIONS, promotion("fresh", env["metadata"]["name"], "fresh"), ns(env))),
        }
        for kind, (resource, obj) in created.items():
            live = kube.get(resource, obj["metadata"]["name"], ns(env))
            # The CRD default, served for an object nobody has written status to.
            assert live["status"] == {"observedGeneration": 0}, kind
            assert health(kind, live) == ("InProgress", "Progressing"), kind
            # Why the default: without observedGeneration kstatus would call it Current.
            assert kstatus.compute({**live, "status": {}})[0] == "Current", kind
        # kubectl (the API server's own reading) agrees: the field is really there.
        raw = cluster.kubectl("get", "flow", "fresh", "-n", ns(env), "-o", "json").stdout
        assert json.loads(raw)["status"]["observedGeneration"] == 0
    finally:
        operator_proc.start()
    flow_obj = wait_for(
        lambda: (f := kube.get(FLOWS, "fresh", ns(env))).get("status", {}).get("latestReadyNumber") == 1 and f,
        message="fresh flow versioned",
    )
    assert health("Flow", flow_obj) == ("Current", "Healthy")


def test_flow_healthy_then_degraded_with_the_rule_then_healthy_again(kube, operator_proc, make_environment):
    env = make_environment(policy={"guardrails": RULE})
    kube.create(FLOWS, flow("login", {"title": "v1"}), ns(env))
    wait_for_number(kube, ns(env), "login", 1)
    assert health("Flow", kube.get(FLOWS, "login", ns(env))) == ("Current", "Healthy")

    kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": None, "body": "no title"}}}, ns(env))
    status = wait_for_number(kube, ns(env), "login", 2)
    broken = kube.get(FLOWS, "login", ns(env))
    assert health("Flow", broken) == ("Failed", "Degraded")
    assert "has-title" in kstatus.compute(broken)[1] and "add a title" in argocd.health("Flow", broken)[1]
    failed_version = wait_for(
        lambda: (
            (v := kube.get(FLOWVERSIONS, f"login-{status['latestCreatedNumber']:05d}", ns(env))).get("status", {}).get("ready")
            is False
            and v
        ),
        message="failed version's results written",
    )
    assert argocd.health("FlowVersion", failed_version) == ("Degraded", "Failed guardrails (never HEAD): has-title")
    good_version = kube.get(FLOWVERSIONS, f"login-{status['latestReadyNumber']:05d}", ns(env))
    wait_for(
        lambda: (
            kube.get(FLOWVERSIONS, f"login-{status['latestReadyNumber']:05d}", ns(env)).get("status", {}).get("ready") is True
        ),
        message="good version's results written",
    )
    assert argocd.health("FlowVersion", kube.get(FLOWVERSIONS, good_version["metadata"]["name"], ns(env)))[0] == "Healthy"

    kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": "v3"}}}, ns(env))
    wait_for_number(kube, ns(env), "login", 3)
    fixed = kube.get(FLOWS, "login", ns(env))
    assert health("Flow", fixed) == ("Current", "Healthy")
    assert {c["type"] for c in fixed["status"]["conditions"]} == {"Ready", "Guardrails"}, "Stalled is cleared"


def test_manual_flow_with_uncommitted_changes_stays_healthy(kube, operator_proc, make_environment):
    env = make_environment()
    kube.create(FLOWS, flow("draft", {"title": "t"}, versioning={"mode": "Manual"}), ns(env))
    wait_for_number(kube, ns(env), "draft", 1)
    kube.merge_patch(FLOWS, "draft", {"spec": {"content": {"title": "edited"}}}, ns(env))
    draft = wait_for(
        lambda: (f := observed(kube, FLOWS, "draft", ns(env)))["status"].get("uncommitted") and f, message="uncommitted"
    )
    assert health("Flow", draft) == ("Current", "Healthy")


def test_promotion_awaiting_approval_never_fails_a_sync_then_succeeds(kube, operator_proc, make_environment):
    dev = make_environment()
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
    kube.create(FLOWS, flow("login", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "login", 1)
    kube.create(PROMOTIONS, promotion("reviewed", dev["metadata"]["name"], "login", "1", review=True), ns(staging))
    wait_for_phase(kube, ns(staging), "reviewed", ("AwaitingApproval",))
    waiting = kube.get(PROMOTIONS, "reviewed", ns(staging))
    assert health("Promotion", waiting) == ("Current", "Suspended")
    assert "approve with spec.approved: true" in argocd.health("Promotion", waiting)[1]
    assert all(c["type"] != "Ready" for c in waiting["status"]["conditions"]), "Ready=False would be InProgress for kstatus"

    kube.merge_patch(PROMOTIONS, "reviewed", {"spec": {"approved": True}}, ns(staging))
    assert wait_for_phase(kube, ns(staging), "reviewed")["phase"] == "Succeeded"
    done = kube.get(PROMOTIONS, "reviewed", ns(staging))
    assert health("Promotion", done) == ("Current", "Healthy")
    assert {c["type"] for c in done["status"]["conditions"]} == {"Ready"}, "Approved and Reconciling are cleared"


def test_a_promotion_that_ends_failed_is_degraded_with_its_reason(kube, operator_proc, make_environment):
    dev = make_environment()
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
    kube.create(PROMOTIONS, promotion("nothing", dev["metadata"]["name"], "missing", "1"), ns(staging))
    assert wait_for_phase(kube, ns(staging), "nothing")["phase"] == "Failed"
    failed = kube.get(PROMOTIONS, "nothing", ns(staging))
    assert health("Promotion", failed) == ("Failed", "Degraded")
    assert "missing" in argocd.health("Promotion", failed)[1]


def test_bindings_healthy_and_degraded(kube, operator_proc, make_environment):
    env = make_environment()
    kube.create(FLOWS, flow("login", {"title": "v1"}), ns(env))
    wait_for_number(kube, ns(env), "login", 1)
    kube.create(
        APPLICATIONS,
        {
            "apiVersion": "flowops.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {"defaultFlow": {"name": "login"}},
        },
        ns(env),
    )
    kube.create(
        APICLIENTS,
        {"apiVersion": "flowops.io/v1alpha1", "kind": "ApiClient", "metadata": {"name": "good"}, "spec": {"application": "web"}},
        ns(env),
    )
    kube.create(
        APICLIENTS,
        {
            "apiVersion": "flowops.io/v1alpha1",
            "kind": "ApiClient",
            "metadata": {"name": "bad"},
            "spec": {"defaultFlow": {"name": "logn"}},
        },
        ns(env),
    )
    good = wait_for(
        lambda: (c := observed(kube, APICLIENTS, "good", ns(env))).get("status", {}).get("version") and c, message="good bound"
    )
    assert health("ApiClient", good) == ("Current", "Healthy")
    assert health("Application", observed(kube, APPLICATIONS, "web", ns(env))) == ("Current", "Healthy")
    bad = observed(kube, APICLIENTS, "bad", ns(env))
    assert health("ApiClient", bad) == ("Failed", "Degraded")
    assert "logn" in argocd.health("ApiClient", bad)[1]


def test_environment_healthy_then_degraded_by_a_rule_that_does_not_compile(kube, operator_proc, make_environment):
    env = make_environment()
    name = env["metadata"]["name"]
    assert health("Environment", observed(kube, ENVIRONMENTS, name)) == ("Current", "Healthy")
    kube.merge_patch(
        ENVIRONMENTS, name, {"spec": {"policy": {"guardrails": [{"name": "broken", "expression": "content.(", "message": "m"}]}}}
    )
    broken = observed(kube, ENVIRONMENTS, name)
    assert health("Environment", broken) == ("Failed", "Degraded")
    assert "broken" in argocd.health("Environment", broken)[1]
