"""Production protection, RBAC roles and failover, with real users' tokens."""

from __future__ import annotations

import json
import time

import pytest

from flowops.devcluster import install
from flowops.kube import APICLIENTS, FLOWS, FLOWVERSIONS, PROMOTIONS, ApiError, Forbidden, Resource
from flowops.services import versions as version_store
from flowops.testing.objects import PROMOTE_NOW, flow, promotion, wait_for_number, wait_for_phase
from flowops.testing.operatorproc import OperatorProcess
from flowops.testing.waiting import wait_for

SECRETS = Resource("", "v1", "secrets", "Secret")


def ns(env):
    return env["spec"]["namespace"]


def name(env):
    return env["metadata"]["name"]


@pytest.fixture
def dev_and_prod(kube, running_operator, make_environment):
    dev = make_environment("Development")
    prod = make_environment("Production", upstream=name(dev), policy={"promotion": PROMOTE_NOW})  # review: test_governance*.py
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.create(PROMOTIONS, promotion("seed", name(dev), "standard"), ns(prod))
    seeded = wait_for_phase(kube, ns(prod), "seed")
    assert seeded["phase"] == "Succeeded", seeded
    return dev, prod


def test_editor_edits_development_but_not_production(kube_as, dev_and_prod):
    dev, prod = dev_and_prod
    editor = kube_as("editor")
    editor.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    for attempt in (
        lambda: editor.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "hotfix"}}}, ns(prod)),
        lambda: editor.delete(FLOWS, "standard", ns(prod)),
        lambda: editor.create(FLOWS, flow("sneaky", {"x": 1}), ns(prod)),
    ):
        with pytest.raises(ApiError) as denied:
            attempt()
        assert denied.value.status == 403
        assert "is protected" in denied.value.message and "Create a Promotion" in denied.value.message


def test_promoter_promotes_into_production_and_it_lands(kube, kube_as, dev_and_prod):
    dev, prod = dev_and_prod
    kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    kube_as("promoter").create(PROMOTIONS, promotion("by-promoter", name(dev), "standard"), ns(prod))
    assert wait_for_phase(kube, ns(prod), "by-promoter")["phase"] == "Succeeded"
    assert kube.get(FLOWS, "standard", ns(prod))["spec"]["content"] == {"title": "v2"}
    with pytest.raises(Forbidden):
        kube_as("promoter").merge_patch(FLOWS, "standard", {"spec": {"content": {}}}, ns(dev))


def test_viewer_reads_but_writes_nothing(kube_as, dev_and_prod):
    dev, prod = dev_and_prod
    viewer = kube_as("viewer")
    assert viewer.get(FLOWS, "standard", ns(dev))["metadata"]["name"] == "standard"
    for attempt in (
        lambda: viewer.merge_patch(FLOWS, "standard", {"spec": {"content": {}}}, ns(dev)),
        lambda: viewer.create(FLOWS, flow("v", {}), ns(dev)),
        lambda: viewer.create(PROMOTIONS, promotion("v", name(dev), "standard"), ns(prod)),
        lambda: viewer.create(
            APICLIENTS, {"apiVersion": "flowops.io/v1alpha1", "kind": "ApiClient", "metadata": {"name": "v"}, "spec": {}}, ns(dev)
        ),
    ):
        with pytest.raises(Forbidden):
            attempt()


def test_nobody_but_the_operator_writes_flowversions(kube, kube_as, dev_and_prod):
    dev, _ = dev_and_prod
    existing = kube.list(FLOWVERSIONS, ns(dev))[0]
    forged = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "FlowVersion",
        "metadata": {"name": "standard-20990101000000000000"},
        "spec": {**existing["spec"], "id": "20990101000000000000", "number": 99},
    }
    for user in ("admin", "editor", "promoter"):
        with pytest.raises(ApiError) as denied:
            kube_as(user).create(FLOWVERSIONS, forged, ns(dev))
        assert denied.value.status == 403, user
        with pytest.raises(ApiError):
            kube_as(user).delete(FLOWVERSIONS, existing["metadata"]["name"], ns(dev))


def test_operator_role_cannot_read_secrets(cluster, kube_as):
    assert cluster.kubectl("auth", "can-i", "get", "secrets", "-A", user="operator", check=False).stdout.strip() == b"no"
    with pytest.raises(Forbidden):
        kube_as("operator").list(SECRETS, "default")


def test_protection_holds_while_the_operator_is_stopped(kube, kube_as, dev_and_prod, operator):
    _, prod = dev_and_prod
    operator.stop()
    try:
        with pytest.raises(ApiError) as denied:
            kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "while down"}}}, ns(prod))
        assert "is protected" in denied.value.message
        assert kube.get(FLOWS, "standard", ns(prod))["spec"]["content"] == {"title": "v1"}
    finally:
        operator.start()


def test_tampering_is_restored_reported_and_the_edit_kept(kube, cluster, dev_and_prod):
    _, prod = dev_and_prod
    cluster.kubectl("delete", "validatingadmissionpolicybinding", "flowops-protected-flows")
    try:
        wait_for(lambda: _try_edit(kube, ns(prod)), timeout=30, message="the edit to get through without the policy")
    finally:
        cluster.kubectl("apply", "--server-side", "-f", str(install.MANIFESTS / "policy" / "protection.yaml"))
    # Restored, and the restored generation observed: the Tampered condition is gone (it is
    # no longer true); status.tampered and the Event keep the record.
    restored = wait_for(
        lambda: (
            (flow := kube.get(FLOWS, "standard", ns(prod)))["spec"]["content"] == {"title": "v1"}
            and (s := flow.get("status") or {}).get("observedGeneration") == flow["metadata"]["generation"]
            and "tampered" in s
            and s
        ),
        timeout=30,
        message="content restored and observed",
    )
    assert all(c["type"] != "Tampered" for c in restored["conditions"])
    assert next(c for c in restored["conditions"] if c["type"] == "Ready")["status"] == "True"
    quarantined = restored["tampered"]["quarantinedVersion"]
    assert version_store.read_document(kube, ns(prod), "standard", quarantined) == {"title": "tampered"}
    assert restored["latestReadyNumber"] == 1, "HEAD is still the promoted version"
    events = [e for e in kube.list_events(ns(prod)) if e.get("reason") == "Tampered"]
    assert events and quarantined in events[0]["message"]
    # Who, as the API server recorded it (a field manager is whatever the client calls itself).
    assert "direct edit of protected flow by flowops-admin" in events[0]["message"]
    assert version_store.get_by_id(kube, ns(prod), "standard", quarantined)["spec"]["changedBy"] == "flowops-admin"


def _try_edit(kube, namespace):
    try:
        kube.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "tampered"}}}, namespace)
        return True
    except ApiError:
        return False


def test_two_peered_operators_one_acts_and_the_other_takes_over(kube, cluster, operator, make_environment):
    operator.stop()
    log_dir = operator.log_path.parent
    env = {"FLOWOPS_PEERING_LIFETIME": "10"}
    active = OperatorProcess(
        cluster.kubeconfig, "flowops-operator", log_dir / "peer-a.log", ("--peering", "flowops-ha", "--priority", "200"), env
    )
    standby = OperatorProcess(
        cluster.kubeconfig, "flowops-operator", log_dir / "peer-b.log", ("--peering", "flowops-ha", "--priority", "100"), env
    )
    try:
        active.start()
        standby.start()
        # Barrier instead of a sleep: the active peer has resumed and the standby (which starts
        # paused and stays so silently) has registered itself, before any work arrives.
        wait_for(
            lambda: (
                "Resuming operations after the pause" in active.log_path.read_text(errors="replace")
                and "Keep-alive in 'flowops-ha' cluster-wide: ok." in standby.log_path.read_text(errors="replace")
            ),
            timeout=30,
            message="both peers registered",
        )
        dev = make_environment()
        for n in range(1, 4):
            if n == 1:
                kube.create(FLOWS, flow("ha", {"n": n}), ns(dev))
            else:
                kube.merge_patch(FLOWS, "ha", {"spec": {"content": {"n": n}}}, ns(dev))
            wait_for_number(kube, ns(dev), "ha", n, timeout=30)
        assert len(kube.list(FLOWVERSIONS, ns(dev))) == 3, "one operator acts: no duplicate versions"
        assert "Handler 'reconcile_flow'" not in standby.tail(5000), "the standby stays paused while the active one lives"
        killed_at = time.monotonic()
        active.kill()
        kube.merge_patch(FLOWS, "ha", {"spec": {"content": {"n": 4}}}, ns(dev))
        wait_for_number(kube, ns(dev), "ha", 4, timeout=60)
        takeover = time.monotonic() - killed_at
        print(f"\nfailover: standby committed {takeover:.1f}s after the active operator was SIGKILLed")
        assert takeover < 40, "failover bound: peering lifetime (10 s here, 15 s by default) plus a watch cycle"
        assert len(kube.list(FLOWVERSIONS, ns(dev))) == 4
    finally:
        active.kill()
        standby.stop()
        operator.start()


def test_kustomization_is_accepted_by_the_api_server(cluster):
    dry = cluster.kubectl("apply", "--server-side", "--dry-run=server", "-k", str(install.MANIFESTS))
    assert b"deployment.apps/flowops-operator serverside-applied (server dry run)" in dry.stdout
    real = cluster.kubectl("apply", "--server-side", "-k", str(install.MANIFESTS))
    assert b"PodSecurity" not in real.stderr, "the Deployment meets the restricted Pod Security Standard"
    deployment = json.loads(cluster.kubectl("get", "deployment", "flowops-operator", "-n", "flowops-system", "-o", "json").stdout)
    # No two operators at once in normal operation: one replica, old pod gone before the new one starts.
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"] == {"type": "Recreate"}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["timeoutSeconds"] == container["readinessProbe"]["timeoutSeconds"] == 5
    assert "--peering=flowops" in container["args"]
