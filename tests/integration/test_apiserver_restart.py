"""An API server restart ends every watch the operator holds: the operator lists again,
writes nothing for it, and goes on working. Meanwhile nothing outside flowops' own kinds
and environments is refused, neither a ConfigMap create nor a namespace's deletion
(docs/operations.md, "When the API server restarts")."""

from __future__ import annotations

from flowops.kube import APICLIENTS, APPLICATIONS, CONFIGMAPS, ENVIRONMENTS, FLOWS, FLOWVERSIONS, NAMESPACES, PROMOTIONS, ApiError
from flowops.testing.objects import barrier, flow, flow_status, wait_for_number
from flowops.testing.waiting import wait_for

KINDS = (FLOWS, FLOWVERSIONS, APICLIENTS, APPLICATIONS, PROMOTIONS, ENVIRONMENTS)
PROBE = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "restart-probe"}, "data": {"probe": "1"}}
UNRELATED = "restart-probe-elsewhere"  # a namespace flowops has no part in
CA_BUNDLE = "kube-root-ca.crt"


def stored(kube, namespace, env_name):
    """resourceVersion of everything the operator could write for this environment. Not the
    controller-manager's CA bundle, which it publishes to every namespace on its own schedule,
    after the restart too."""
    found = {
        (resource.plural, item["metadata"]["name"]): item["metadata"]["resourceVersion"]
        for resource in (FLOWVERSIONS, CONFIGMAPS)
        for item in kube.list(resource, namespace)
        if item["metadata"]["name"] != CA_BUNDLE
    }
    found[("environments", env_name)] = kube.get(ENVIRONMENTS, env_name)["metadata"]["resourceVersion"]
    return found


def counted(kube, env_name):
    status = kube.get(ENVIRONMENTS, env_name).get("status") or {}
    return status.get("flows"), status.get("outOfSync")


def bound(kube, namespace, version):
    status = kube.get(APICLIENTS, "web", namespace).get("status") or {}
    served = kube.get_or_none(CONFIGMAPS, "web-flow", namespace)
    return status.get("version") == version and served is not None and served["data"]["version"] == version and status


def test_after_an_api_server_restart_the_operator_writes_nothing_and_commits_the_next_change(
    kube, cluster, running_operator, make_environment
):
    env = make_environment("Development")
    namespace, env_name = env["spec"]["namespace"], env["metadata"]["name"]
    kube.create(FLOWS, flow("login", {"title": "v1"}), namespace)
    v1 = wait_for_number(kube, namespace, "login", 1)["latestReadyVersion"]
    client = {"apiVersion": env["apiVersion"], "kind": "ApiClient", "metadata": {"name": "web"}}
    kube.create(APICLIENTS, {**client, "spec": {"defaultFlow": {"name": "login"}}}, namespace)
    client_before = wait_for(lambda: bound(kube, namespace, v1), message="web bound to version 1")
    barrier(kube, FLOWS, namespace, "login")
    # The counts follow a Flow event by up to a second (at most one write a second): the
    # operator is idle only once they are shown.
    wait_for(lambda: counted(kube, env_name) == (1, 0), message="the Environment counts its flow")
    flow_before, before = flow_status(kube, namespace, "login"), stored(kube, namespace, env_name)
    if kube.get_or_none(NAMESPACES, UNRELATED) is None:
        kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": UNRELATED}})

    cluster.restart_apiserver()
    refused_elsewhere: list[str] = []

    def admitting() -> bool:
        for outside_flowops in (
            lambda: kube.create(CONFIGMAPS, PROBE, "default", dry_run=True),
            lambda: kube.delete(NAMESPACES, UNRELATED, dry_run=True),
        ):
            try:
                outside_flowops()
            except ApiError as refused:
                refused_elsewhere.append(str(refused))
        # flowops' own kinds: each served again (503 until then: the tests after this one use
        # them all), and their policies may refuse until the Environment kind is discovered.
        try:
            for resource in KINDS:
                kube.request("GET", resource.path(None if resource is ENVIRONMENTS else namespace), query={"limit": 1})
            for resource, name in ((FLOWS, "login"), (APICLIENTS, "web")):
                kube.merge_patch(resource, name, {"metadata": {"labels": {"probe": "1"}}}, namespace, dry_run=True)
            return True
        except ApiError:
            return False

    wait_for(admitting, timeout=90, message="flowops' policies to admit again after the restart")
    assert refused_elsewhere == [], "a write outside flowops' namespaces was refused"

    # The operator has handled both objects' events since its watches were re-listed.
    barrier(kube, FLOWS, namespace, "login")
    barrier(kube, APICLIENTS, namespace, "web")
    after = stored(kube, namespace, env_name)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the restart made the operator write: {changed}"
    assert flow_status(kube, namespace, "login") == flow_before
    assert kube.get(APICLIENTS, "web", namespace)["status"] == client_before

    kube.json_patch(FLOWS, "login", [{"op": "replace", "path": "/spec/content", "value": {"title": "v2"}}], namespace)
    v2 = wait_for_number(kube, namespace, "login", 2)["latestReadyVersion"]
    wait_for(lambda: bound(kube, namespace, v2), message="web bound to version 2 after the restart")
