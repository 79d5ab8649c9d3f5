"""Finished Promotions are kept up to the target environment's promotionHistoryLimit, and a
restart leaves history (and reports nothing changed) alone."""

from __future__ import annotations

from flowops.kube import ENVIRONMENTS, FLOWS, PROMOTIONS
from flowops.testing.objects import barrier, flow, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for

FLUX_LABELS = {"kustomize.toolkit.fluxcd.io/name": "flows", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}


def environments(make_environment, limit=None):
    dev = make_environment("Development")
    policy = {"promotionHistoryLimit": limit} if limit else {}
    # Not protected: these tests are about history, not approval.
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False, policy=policy)
    return dev, staging


def promote_and_finish(kube, dev, staging, pname, labels=None, source_flow="standard"):
    body = promotion(pname, dev["metadata"]["name"], source_flow)
    if labels:
        body["metadata"]["labels"] = labels
    kube.create(PROMOTIONS, body, staging["spec"]["namespace"])
    assert wait_for_phase(kube, staging["spec"]["namespace"], pname)["phase"] == "Succeeded"


def gone(kube, namespace, name):
    return wait_for(
        lambda: kube.get_or_none(PROMOTIONS, name, namespace) is None, timeout=30, message=f"Promotion {namespace}/{name} deleted"
    )


def test_finished_promotions_beyond_the_limit_are_deleted_but_gitops_tracked_ones_stay(kube, running_operator, make_environment):
    dev, staging = environments(make_environment, limit=2)
    ns = staging["spec"]["namespace"]
    kube.create(FLOWS, flow("standard", {"title": "v1"}), dev["spec"]["namespace"])
    wait_for_number(kube, dev["spec"]["namespace"], "standard", 1)
    promote_and_finish(kube, dev, staging, "from-git", labels=FLUX_LABELS)
    for pname in ("p1", "p2", "p3"):
        promote_and_finish(kube, dev, staging, pname)
    gone(kube, ns, "p1")
    # Deleted in the same pass as p1 if at all: the tracked one and the newest two stay.
    assert {p["metadata"]["name"] for p in kube.list(PROMOTIONS, ns)} == {"from-git", "p2", "p3"}
    # The version p1 made keeps its provenance.
    assert kube.get(FLOWS, "standard", ns)["status"]["latestReadyNumber"] == 1


def test_a_restart_prunes_the_backlog_and_leaves_finished_promotions_untouched(kube, running_operator, make_environment):
    """Also: the sync report of a flow whose upstream did not move is not recomputed (no
    write), and one whose upstream moved while the operator was down is."""
    dev, staging = environments(make_environment)
    ns = staging["spec"]["namespace"]
    kube.create(FLOWS, flow("standard", {"title": "v1"}), dev["spec"]["namespace"])
    wait_for_number(kube, dev["spec"]["namespace"], "standard", 1)
    for pname in ("q1", "q2", "q3"):
        promote_and_finish(kube, dev, staging, pname)
    assert len(kube.list(PROMOTIONS, ns)) == 3, "under the default limit (100) nothing is deleted"
    dev_ns = dev["spec"]["namespace"]
    kube.create(FLOWS, flow("still", {"title": "same"}), dev_ns)
    wait_for_number(kube, dev_ns, "still", 1)
    promote_and_finish(kube, dev, staging, "q-still", labels=FLUX_LABELS, source_flow="still")
    wait_for(
        lambda: (kube.get(FLOWS, "still", ns).get("status") or {}).get("sync", {}).get("state") == "InSync",
        timeout=30,
        message="staging/still InSync",
    )
    barrier(kube, FLOWS, ns, "still")  # the landing's last status writes are in before the snapshot
    quiet = kube.get(FLOWS, "still", ns)["metadata"]["resourceVersion"]
    running_operator.stop()
    kube.merge_patch(ENVIRONMENTS, staging["metadata"]["name"], {"spec": {"policy": {"promotionHistoryLimit": 1}}})
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, dev_ns)  # upstream moves meanwhile
    before = kube.get(PROMOTIONS, "q3", ns)["metadata"]["resourceVersion"]
    running_operator.start()
    moved = wait_for_number(kube, dev_ns, "standard", 2)
    wait_for(
        lambda: (
            (s := (kube.get(FLOWS, "standard", ns).get("status") or {}).get("sync", {})).get("state") == "OutOfSync"
            and s.get("upstreamVersion") == moved["latestReadyVersion"]
        ),
        timeout=30,
        message="staging/standard OutOfSync with v2",
    )
    gone(kube, ns, "q1")
    gone(kube, ns, "q2")
    # Barrier: a new Promotion finishes, and only then q3 goes (limit 1); q3 was not
    # written at start-up, neither resumed nor pruned early.
    assert kube.get(PROMOTIONS, "q3", ns)["metadata"]["resourceVersion"] == before
    promote_and_finish(kube, dev, staging, "q4")
    gone(kube, ns, "q3")
    assert sorted(p["metadata"]["name"] for p in kube.list(PROMOTIONS, ns)) == ["q-still", "q4"]
    assert kube.get(FLOWS, "still", ns)["metadata"]["resourceVersion"] == quiet, "an unchanged flow was not written"
