from __future__ import annotations

from flowops.kube import FLOWS, FLOWVERSIONS

from flowops.testing.waiting import wait_for


def flow_body(name, content, **meta):
    return {"apiVersion": "flowops.io/v1alpha1", "kind": "Flow", "metadata": {"name": name, **meta}, "spec": {"content": content}}


def test_create_and_edit_commit_versions(kube, running_operator, make_environment):
    env = make_environment("Development")
    ns = env["spec"]["namespace"]
    kube.create(FLOWS, flow_body("login", {"title": "hello"}), ns)
    status = wait_for(lambda: (kube.get(FLOWS, "login", ns).get("status") or {}).get("latestReadyVersion") and kube.get(FLOWS, "login", ns)["status"], message="version 1")
    assert status["versionCount"] == 1
    kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": "hello 2"}}}, ns)
    wait_for(lambda: (kube.get(FLOWS, "login", ns).get("status") or {}).get("latestReadyNumber") == 2, message="version 2")
    assert len(kube.list(FLOWVERSIONS, ns)) == 2
