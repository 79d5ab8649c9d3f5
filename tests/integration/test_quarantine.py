"""A writer that keeps re-applying a direct edit of a protected flow (a GitOps tool the
admission policy trusts, every interval): one Quarantine version, not one per interval,
and the flow says Stalled, naming the writer's field manager."""

from __future__ import annotations

import pytest

from flowops.devcluster import install
from flowops.kube import FLOWS, FLOWVERSIONS, PROMOTIONS, ApiError, Kube
from flowops.testing.callhook import ThenAfter
from flowops.testing.objects import (
    PROMOTE_NOW,
    barrier,
    flow,
    flow_status,
    promotion,
    wait_for_number,
    wait_for_phase,
)
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


def _apply(writer: Kube, namespace: str, content: dict) -> dict | None:
    """The Flow as the edit left it, or None while the policy binding is still being removed."""
    try:
        return writer.merge_patch(FLOWS, "standard", {"spec": {"content": content}}, namespace)
    except ApiError:
        return None


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


def test_a_quarantined_edit_cannot_be_promoted_by_number_id_or_hash(kube, unguarded_prod):
    """Quarantine keeps a reverted direct edit for reading, never for serving: a rollback
    naming it, in any of the selector's forms, finds no such version and writes nothing."""
    dev, prod, writer = unguarded_prod
    wait_for(lambda: _apply(writer, ns(prod), {"title": "unreviewed"}), timeout=30, message="the edit to get through")
    _reverted(kube, ns(prod), 0)
    (kept,) = _quarantined(kube, ns(prod))
    labels, annotations = kept["metadata"]["labels"], kept["metadata"]["annotations"]
    before = kube.get(FLOWS, "standard", ns(prod))
    selectors = (labels["flowops.io/number"], labels["flowops.io/version"], annotations["flowops.io/content-hash"])
    for i, selector in enumerate(selectors):
        kube.create(PROMOTIONS, promotion(f"restore-{i}", prod["metadata"]["name"], "standard", selector), ns(prod))
        outcome = wait_for_phase(kube, ns(prod), f"restore-{i}")
        assert (outcome["phase"], outcome["conditions"][0]["reason"]) == ("Failed", "UnknownVersion"), (selector, outcome)
    after = kube.get(FLOWS, "standard", ns(prod))
    assert after["spec"]["content"] == {"title": "v1"}
    assert after["metadata"]["generation"] == before["metadata"]["generation"], "nothing was written"


def _promote_v2(kube: Kube, dev: dict, prod: dict) -> dict:
    """Version 2 promoted to production; the Flow once the running operator is done with it."""
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    kube.create(PROMOTIONS, promotion("v2", dev["metadata"]["name"], "standard"), ns(prod))
    outcome = wait_for_phase(kube, ns(prod), "v2")
    assert outcome["phase"] == "Succeeded", outcome
    barrier(kube, FLOWS, ns(prod), "standard")
    return kube.get(FLOWS, "standard", ns(prod))


def _second_process_reverts(kube_as, prod: dict, view: dict, matches, then) -> None:
    """The operator's reconcile of `view` in this process, its client calling `then` after
    the call that `matches`."""
    from flowops.kube import ENVIRONMENTS
    from flowops.runtime import Runtime
    from flowops.services import flows
    from flowops.services.common import no_events

    environment = kube_as("operator").get(ENVIRONMENTS, prod["metadata"]["name"])
    second = ThenAfter(kube_as("operator"), matches, then)
    flows.reconcile(Runtime(kube=second), view, environment, post=no_events)  # type: ignore[arg-type]


def _promoted_content_stands(kube: Kube, prod: dict, landed: dict) -> None:
    after = kube.get(FLOWS, "standard", ns(prod))
    assert after["spec"]["content"] == {"title": "v2"}, "the old HEAD went back over the promoted content"
    assert after["metadata"]["resourceVersion"] == landed["metadata"]["resourceVersion"], "nothing was written"
    barrier(kube, FLOWS, ns(prod), "standard")
    assert len(_quarantined(kube, ns(prod))) == 1, "only the direct edit is quarantined"


def test_a_revert_decided_from_an_older_view_never_puts_the_old_head_back_over_a_promotion(kube, kube_as, unguarded_prod):
    """A second process (a rolling update, unpeered) acts late on a direct edit: the running
    operator has reverted it and a Promotion has landed since the second listed the flow's
    versions. Its revert of the old HEAD must not land over the promoted content, where it
    would be quarantined in turn as a false direct edit: its writes name the Flow's version
    it decided from and are refused; the content moved since, so it writes nothing more
    (the event of that change is decided on its own)."""
    dev, prod, writer = unguarded_prod
    view = wait_for(lambda: _apply(writer, ns(prod), {"title": "edited"}), timeout=30, message="the edit to get through")
    _reverted(kube, ns(prod), 0)
    landed: dict = {}
    # It reads the old HEAD's content to restore it; the Promotion lands before that read returns.
    _second_process_reverts(
        kube_as,
        prod,
        view,
        lambda method, resource, *_, **__: method == "get" and resource is FLOWVERSIONS,
        lambda: landed.update(_promote_v2(kube, dev, prod)),
    )
    _promoted_content_stands(kube, prod, landed)


def test_a_revert_whose_content_write_comes_after_a_promotion_is_refused(kube, kube_as, running_operator, unguarded_prod):
    """The same, one step on: the second process's view was current, so its Tampered status
    landed; then the other operator reverted the edit and a Promotion landed. Its content
    write names the version its own status write made, and is refused."""
    dev, prod, writer = unguarded_prod
    running_operator.stop()  # the edit is the second process's alone, until its status write
    try:
        view = wait_for(lambda: _apply(writer, ns(prod), {"title": "edited"}), timeout=30, message="the edit to get through")
        landed: dict = {}

        def reverted_and_promoted() -> None:
            running_operator.start()
            _reverted(kube, ns(prod), 0)
            landed.update(_promote_v2(kube, dev, prod))

        _second_process_reverts(
            kube_as,
            prod,
            view,
            lambda method, resource, *_, **__: method == "patch_status" and resource is FLOWS,
            reverted_and_promoted,
        )
    finally:
        if not running_operator.alive():
            running_operator.start()
    _promoted_content_stands(kube, prod, landed)
