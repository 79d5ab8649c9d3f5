"""A cluster that alters what a Promotion writes: an admission mutation on Flows.

Policy engines (a MutatingAdmissionPolicy, Kyverno, a webhook) can change a Flow's content
as it is stored. The content that lands is then not what was planned and reviewed, so the
version it becomes must not be reported as the Promotion's, and a protected target must
not be written again and again."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from flowops.kube import FLOWS, FLOWVERSIONS, PROMOTIONS, Kube, NotFound, Resource
from flowops.testing.objects import PROMOTE_NOW, barrier, flow, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_until

POLICIES = Resource("admissionregistration.k8s.io", "v1", "mutatingadmissionpolicies", "MutatingAdmissionPolicy", False)
BINDINGS = Resource(
    "admissionregistration.k8s.io", "v1", "mutatingadmissionpolicybindings", "MutatingAdmissionPolicyBinding", False
)
STAMP = "stampedByPlatform"


@pytest.fixture
def stamp_flows(kube: Kube, kube_as: Callable[[str], Kube]) -> Iterator[Callable[[str], None]]:
    """Installs a policy that adds a key to every Flow's content written in one namespace."""
    made: list[str] = []

    def install(namespace: str) -> None:
        name = f"stamp-{uuid.uuid4().hex[:8]}"
        kube.create(
            POLICIES,
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingAdmissionPolicy",
                "metadata": {"name": name},
                "spec": {
                    "failurePolicy": "Fail",
                    "reinvocationPolicy": "Never",
                    "matchConstraints": {
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                        "resourceRules": [
                            {
                                "apiGroups": ["flowops.io"],
                                "apiVersions": ["*"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["flows"],
                            }
                        ],
                    },
                    "mutations": [
                        {
                            "patchType": "JSONPatch",
                            "jsonPatch": {"expression": f'[JSONPatch{{op: "add", path: "/spec/content/{STAMP}", value: "yes"}}]'},
                        }
                    ],
                },
            },
        )
        made.append(name)
        kube.create(
            BINDINGS,
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingAdmissionPolicyBinding",
                "metadata": {"name": name},
                "spec": {"policyName": name},
            },
        )
        # In force once a dry-run write of a Flow there comes back stamped (as the operator:
        # nobody else may write a protected environment's flows).
        probe = flow(f"probe-{uuid.uuid4().hex[:6]}", {"title": "probe"})
        wait_until(
            lambda: kube_as("operator").create(FLOWS, probe, namespace, dry_run=True)["spec"]["content"],
            lambda content: STAMP in content,
            timeout=60,
            message=f"the stamping policy to apply in {namespace}",
        )

    yield install
    for name in made:
        for resource in (BINDINGS, POLICIES):
            try:
                kube.request("DELETE", resource.path(None, name))
            except NotFound:
                pass


def ns(env: dict) -> str:
    return env["spec"]["namespace"]


def dev_and_staging(kube: Kube, make_environment, staging_protected: bool = True) -> tuple[dict, dict]:
    """Development holding flow standard at version 1, and a promote-now Staging above it."""
    dev = make_environment("Development")
    staging = make_environment(
        "Staging", upstream=dev["metadata"]["name"], protected=staging_protected, policy={"promotion": {**PROMOTE_NOW}}
    )
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    return dev, staging


def promote(kube: Kube, dev: dict, staging: dict, name: str) -> dict:
    kube.create(PROMOTIONS, promotion(name, dev["metadata"]["name"], "standard"), ns(staging))
    return wait_for_phase(kube, ns(staging), name)


def test_a_promotion_whose_content_the_cluster_altered_is_not_reported_as_landed(
    kube, running_operator, make_environment, stamp_flows
):
    dev, staging = dev_and_staging(kube, make_environment, staging_protected=False)
    staging_ns = ns(staging)
    stamp_flows(staging_ns)

    result = promote(kube, dev, staging, "to-staging")

    assert result["phase"] == "Failed", result
    assert "targetVersion" not in result, result
    failed = next(c for c in result["conditions"] if c["type"] == "Ready")
    assert failed["reason"] == "ContentAltered", failed
    message = result["message"]
    assert "different spec.content for flow standard than this Promotion wrote" in message, message
    assert "admission policy or webhook" in message and "version 1" in message and "ordinary change" in message, message
    # What landed is kept as an ordinary change, not as the Promotion's version.
    stored = kube.get(FLOWS, "standard", staging_ns)
    assert stored["spec"]["content"] == {"title": "v1", STAMP: "yes"}
    assert "lastPromotion" not in stored["status"], stored["status"]
    versions = kube.list(FLOWVERSIONS, staging_ns)
    assert [v["spec"]["origin"] for v in versions] == ["Commit"], versions
    assert not any((v["spec"].get("source") or {}).get("promotion") for v in versions), versions


def test_a_protected_target_altered_by_the_cluster_fails_the_promotion_and_keeps_its_head(
    kube, running_operator, make_environment, stamp_flows
):
    dev, staging = dev_and_staging(kube, make_environment)
    staging_ns = ns(staging)
    assert promote(kube, dev, staging, "first")["phase"] == "Succeeded"
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    stamp_flows(staging_ns)

    result = promote(kube, dev, staging, "second")

    assert result["phase"] == "Failed", result
    assert "targetVersion" not in result, result
    assert "environment " + staging["metadata"]["name"] + " is protected" in result["message"], result
    # Barrier: the Promotion is finished and handled once more; it wrote no version of its own.
    barrier(kube, PROMOTIONS, staging_ns, "second")
    assert kube.get(PROMOTIONS, "second", staging_ns)["status"]["phase"] == "Failed"
    versions = kube.list(FLOWVERSIONS, staging_ns)
    assert [v["spec"]["source"]["promotion"] for v in versions if v["spec"]["origin"] == "Promotion"] == ["first"], versions
    # The restore is altered too: the flow says it cannot hold its HEAD's content, and why.
    status = wait_until(
        lambda: kube.get(FLOWS, "standard", staging_ns)["status"],
        lambda seen: any(c["type"] == "Stalled" and c["status"] == "True" for c in seen.get("conditions") or ()),
        timeout=30,
        message="the protected flow to report that its restore is altered",
        shown=lambda seen: seen.get("conditions"),
    )
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ContentAltered", ready
    assert "cannot hold the content of its HEAD" in ready["message"] and "HEAD stays version 1" in ready["message"], ready
    assert status["latestReadyNumber"] == 1 and status["lastPromotion"]["name"] == "first", status
