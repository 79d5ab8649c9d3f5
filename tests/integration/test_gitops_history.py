"""History survives the GitOps lifecycle: spec.deletionPolicy (Retain by default)."""

from __future__ import annotations

from flowops import names
from flowops.kube import FLOWS, FLOWVERSIONS
from flowops.testing.objects import flow, flow_status, wait_for_number
from flowops.testing.waiting import wait_for


def ns(env):
    return env["spec"]["namespace"]


def versions_of(kube, namespace, name):
    items = kube.list(FLOWVERSIONS, namespace, label_selector=f"{names.LABEL_FLOW}={name}")
    return sorted(items, key=lambda v: v["spec"]["number"])


def test_deleted_flow_keeps_its_versions_and_a_recreated_one_continues_them(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    kube.create(FLOWS, flow("kept", {"a": 1}), n)
    wait_for_number(kube, n, "kept", 1)
    kube.merge_patch(FLOWS, "kept", {"spec": {"content": {"a": 2}}}, n)
    v2 = wait_for_number(kube, n, "kept", 2)["latestReadyVersion"]
    assert wait_for(lambda: flow_status(kube, n, "kept").get("deletionPolicy") == "Retain", message="policy in force")
    assert all(not v["metadata"].get("ownerReferences") for v in versions_of(kube, n, "kept"))

    kube.delete(FLOWS, "kept", n)
    wait_for(lambda: kube.get_or_none(FLOWS, "kept", n) is None, message="flow deleted")
    # The garbage collector has nothing to collect: the versions have no owner. Barrier: a
    # second flow deleted with policy Delete loses its versions, so collection has run.
    kube.create(FLOWS, flow("scratch", {"s": 1}, deletionPolicy="Delete"), n)
    wait_for_number(kube, n, "scratch", 1)
    kube.delete(FLOWS, "scratch", n)
    wait_for(lambda: not versions_of(kube, n, "scratch"), timeout=60, message="garbage collection of scratch's versions")
    assert [v["spec"]["number"] for v in versions_of(kube, n, "kept")] == [1, 2]

    # Back (a re-applied manifest, a cluster rebuilt from git): same content, no new version.
    kube.create(FLOWS, flow("kept", {"a": 2}), n)
    status = wait_for(
        lambda: (s := flow_status(kube, n, "kept")).get("observedGeneration") == 1 and s, message="the recreated flow is observed"
    )
    assert status["versionCount"] == 2, status
    assert status["latestReadyVersion"] == v2 and status["latestCreatedNumber"] == 2
    kube.merge_patch(FLOWS, "kept", {"spec": {"content": {"a": 3}}}, n)
    wait_for_number(kube, n, "kept", 3)
    third = versions_of(kube, n, "kept")[-1]
    assert third["spec"]["parent"] == v2


def test_switching_to_delete_adopts_retained_versions_and_deletes_them_with_the_flow(kube, running_operator, make_environment):
    env = make_environment()
    n = ns(env)
    kube.create(FLOWS, flow("temp", {"a": 1}), n)
    wait_for_number(kube, n, "temp", 1)
    uid = kube.get(FLOWS, "temp", n)["metadata"]["uid"]
    kube.merge_patch(FLOWS, "temp", {"spec": {"deletionPolicy": "Delete"}}, n)
    wait_for(lambda: flow_status(kube, n, "temp").get("deletionPolicy") == "Delete", message="policy Delete in force")
    (version,) = versions_of(kube, n, "temp")
    assert [o["uid"] for o in version["metadata"]["ownerReferences"]] == [uid]
    kube.delete(FLOWS, "temp", n)
    wait_for(lambda: not versions_of(kube, n, "temp"), timeout=60, message="garbage collection of the versions")
