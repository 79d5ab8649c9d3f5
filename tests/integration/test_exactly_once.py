"""SIGKILL at the worst moments; a restarted operator converges without duplicates."""

from __future__ import annotations

from flowops.kube import FLOWS, FLOWVERSIONS, PROMOTIONS
from flowops.testing.objects import PROMOTE_NOW, flow, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for


def versions_of(kube, namespace, name):
    return kube.list(FLOWVERSIONS, namespace, label_selector=f"flowops.io/flow={name}", metadata_only=True)


def test_killed_between_version_and_status_no_duplicate_no_loss(kube, make_environment, crashing_operator, operator):
    env = make_environment("Development")
    ns = env["spec"]["namespace"]
    crashed = crashing_operator("after-version-created")
    kube.create(FLOWS, flow("standard", {"title": "one"}), ns)
    wait_for(lambda: not crashed.alive(), timeout=30, message="the operator to kill itself after creating the version")
    assert len(versions_of(kube, ns, "standard")) == 1
    assert not (kube.get(FLOWS, "standard", ns).get("status") or {}).get("latestCreatedVersion"), (
        "status was not written before the crash"
    )

    operator.start()
    status = wait_for_number(kube, ns, "standard", 1)
    assert status["versionCount"] == 1
    assert len(versions_of(kube, ns, "standard")) == 1
    assert status["latestReadyVersion"] == versions_of(kube, ns, "standard")[0]["metadata"]["labels"]["flowops.io/version"]


def test_promotion_killed_after_target_version_completes_once(kube, make_environment, crashing_operator, operator):
    dev = make_environment("Development")
    prod = make_environment("Production", upstream=dev["metadata"]["name"], policy={"promotion": PROMOTE_NOW})
    kube.create(FLOWS, flow("standard", {"title": "ship"}), dev["spec"]["namespace"])
    crashed = crashing_operator("after-promotion-version-created")
    wait_for_number(kube, dev["spec"]["namespace"], "standard", 1)
    kube.create(PROMOTIONS, promotion("ship", dev["metadata"]["name"], "standard"), prod["spec"]["namespace"])
    wait_for(lambda: not crashed.alive(), timeout=30, message="the operator to kill itself mid-promotion")
    assert len(versions_of(kube, prod["spec"]["namespace"], "standard")) == 1
    assert (kube.get(PROMOTIONS, "ship", prod["spec"]["namespace"]).get("status") or {}).get("phase") != "Succeeded"

    operator.start()
    result = wait_for_phase(kube, prod["spec"]["namespace"], "ship")
    assert result["phase"] == "Succeeded", result
    assert len(versions_of(kube, prod["spec"]["namespace"], "standard")) == 1
    assert result["targetNumber"] == 1


def test_promotion_killed_after_target_written_before_version(kube, make_environment, crashing_operator, operator):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], policy={"promotion": PROMOTE_NOW})
    kube.create(FLOWS, flow("standard", {"title": "ship"}), dev["spec"]["namespace"])
    crashed = crashing_operator("after-promotion-target-written")
    wait_for_number(kube, dev["spec"]["namespace"], "standard", 1)
    kube.create(PROMOTIONS, promotion("ship", dev["metadata"]["name"], "standard"), staging["spec"]["namespace"])
    wait_for(lambda: not crashed.alive(), timeout=30, message="the operator to kill itself mid-promotion")

    operator.start()
    result = wait_for_phase(kube, staging["spec"]["namespace"], "ship")
    assert result["phase"] == "Succeeded", result
    found = versions_of(kube, staging["spec"]["namespace"], "standard")
    assert len(found) == 1
    assert found[0]["metadata"]["annotations"]["flowops.io/origin"] == "Promotion"


def test_a_resumed_promotion_lands_the_version_it_claimed_though_head_moved_since(
    kube, kube_as, make_environment, running_operator
):
    """A claim interrupted while HEAD was version 1; HEAD is version 2 when the operator is
    back. The attempt that resumes lands version 1, as the Promotion's own version."""
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], policy={"promotion": PROMOTE_NOW})
    dev_ns, staging_ns = dev["spec"]["namespace"], staging["spec"]["namespace"]
    kube.create(FLOWS, flow("standard", {"title": "claimed"}), dev_ns)
    wait_for_number(kube, dev_ns, "standard", 1)
    claimed = versions_of(kube, dev_ns, "standard")[0]["metadata"]["labels"]["flowops.io/version"]
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "moved on"}}}, dev_ns)
    wait_for_number(kube, dev_ns, "standard", 2)

    running_operator.stop()
    created = kube.create(PROMOTIONS, promotion("ship", dev["metadata"]["name"], "standard"), staging_ns)
    # What the claim leaves when the process dies before writing the target.
    kube_as("operator").merge_patch(
        PROMOTIONS,
        "ship",
        {"status": {"phase": "Running", "sourceVersion": claimed, "sourceNumber": 1, "observedGeneration": 1}},
        staging_ns,
        subresource="status",
    )
    running_operator.start()

    result = wait_for_phase(kube, staging_ns, "ship")
    assert result["phase"] == "Succeeded" and result["sourceVersion"] == claimed, result
    landed = versions_of(kube, staging_ns, "standard")
    assert len(landed) == 1
    annotations = landed[0]["metadata"]["annotations"]
    assert annotations["flowops.io/origin"] == "Promotion", annotations
    assert annotations["flowops.io/promotion-uid"] == created["metadata"]["uid"]
    assert kube.get(FLOWS, "standard", staging_ns)["spec"]["content"] == {"title": "claimed"}
