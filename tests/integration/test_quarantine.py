"""A writer that keeps re-applying a direct edit of a protected flow (a GitOps tool the
admission policy trusts, every interval): one Quarantine version, not one per interval,
and the flow says Stalled, naming the writer's field manager."""

from __future__ import annotations

import pytest

from flowops.devcluster import install
from flowops.kube import FLOWS, FLOWVERSIONS, PROMOTIONS, ApiError, Kube
from flowops.testing.objects import PROMOTE_NOW, flow, flow_status, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for

WRITER = "kustomize-controller"


def ns(env):
    return env["spec"]["namespace"]


@pytest.fixture
def unguarded_prod(kube, cluster, running_operator, make_environment):
    """A production flow with version 1, and the protection policy out of the way (as if
    the writer were an identity it trusts)."""
    dev = make_environment("Development")
    prod = make_environment("Production", upstream=dev["metadata"]["name"], policy={"promotion": PROMOTE_NOW})
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.create(PROMOTIONS, promotion("seed", dev["metadata"]["name"], "standard"), ns(prod))
    assert wait_for_phase(kube, ns(prod), "seed")["phase"] == "Succeeded"
    cluster.kubectl("delete", "validatingadmissionpolicybinding", "flowops-protected-flows")
    try:
        yield dev, prod, Kube.from_kubeconfig(str(cluster.kubeconfig), "flowops-admin", field_manager=WRITER)
    finally:
        cluster.kubectl("apply", "--server-side", "-f", str(install.MANIFESTS / "policy" / "protection.yaml"))


def _apply(writer: Kube, namespace: str, content: dict) -> bool:
    try:
        writer.merge_patch(FLOWS, "standard", {"spec": {"content": content}}, namespace)
        return True
    except ApiError:  # the policy binding is still being removed
        return False


def _reverted(kube: Kube, namespace: str, reapplied: int) -> dict:
    def check():
        body = kube.get(FLOWS, "standard", namespace)
        status = body.get("status") or {}
        return (
            body["spec"]["content"] == {"title": "v1"}
            and (status.get("tampered") or {}).get("reapplied") == reapplied
            and status.get("observedGeneration") == body["metadata"]["generation"]
            and status
        )

    return wait_for(check, timeout=30, message=f"the edit reverted (reapplied {reapplied}) and the revert observed")


def _quarantined(kube: Kube, namespace: str) -> list[dict]:
    found = kube.list(FLOWVERSIONS, namespace, label_selector="flowops.io/flow=standard", metadata_only=True)
    return [v for v in found if v["metadata"]["annotations"].get("flowops.io/origin") == "Quarantine"]


def _condition(status: dict, type_: str) -> dict | None:
    return next((c for c in status.get("conditions") or () if c["type"] == type_), None)


def test_a_reapplied_edit_makes_one_quarantine_version_and_stalls_naming_the_writer(kube, unguarded_prod):
    dev, prod, writer = unguarded_prod
    wait_for(lambda: _apply(writer, ns(prod), {"title": "from git"}), timeout=30, message="the edit to get through")
    first = _reverted(kube, ns(prod), 0)
    assert len(_quarantined(kube, ns(prod))) == 1
    assert first["tampered"]["fieldManager"].startswith(WRITER)
    assert _condition(first, "Stalled") is None, "one direct edit is reverted, not a loop"
    tampered = [e for e in kube.list_events(ns(prod)) if e.get("reason") == "Tampered"]
    assert tampered and WRITER in tampered[-1]["message"], "the Event names the field manager that wrote the edit"

    for again in (1, 2):  # the writer's next intervals
        assert _apply(writer, ns(prod), {"title": "from git"})
        status = _reverted(kube, ns(prod), again)
    quarantined = _quarantined(kube, ns(prod))
    assert len(quarantined) == 1, "the same edit again makes no new version"
    assert quarantined[0]["metadata"]["annotations"]["flowops.io/reapplied"] == "2"
    # Observed after the operator's own revert (generation checked above): the stall stays.
    stalled, ready = _condition(status, "Stalled"), _condition(status, "Ready")
    assert stalled and stalled["status"] == "True" and stalled["reason"] == "TamperLoop"
    assert WRITER in stalled["message"] and "Promotions" in stalled["message"]
    assert ready and ready["status"] == "False" and ready["reason"] == "TamperLoop"
    loops = [e for e in kube.list_events(ns(prod)) if e.get("reason") == "TamperLoop"]
    assert loops and WRITER in loops[-1]["message"]
    assert status["latestReadyNumber"] == 1, "HEAD never moved"

    # A different edit is a different quarantine, and the writer is still stalled.
    assert _apply(writer, ns(prod), {"title": "other"})
    wait_for(lambda: len(_quarantined(kube, ns(prod))) == 2, timeout=30, message="a second quarantine version")
    status = _reverted(kube, ns(prod), 0)
    assert _condition(status, "Stalled")["reason"] == "TamperLoop"
    # A promoted version clears it.
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    kube.create(PROMOTIONS, promotion("fix", dev["metadata"]["name"], "standard"), ns(prod))
    landed = wait_for_phase(kube, ns(prod), "fix")
    assert landed["phase"] == "Succeeded", landed
    cleared = wait_for(
        lambda: (
            (s := flow_status(kube, ns(prod), "standard")).get("latestReadyNumber") == landed["targetNumber"]
            and _condition(s, "Stalled") is None
            and s
        ),
        timeout=30,
        message="the promoted version clears the stall",
    )
    assert _condition(cleared, "Ready")["status"] == "True"
