"""`kubectl get environments` counts stay true while many flows come and go, without a
status write of the Environment for every Flow event."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import kubernetes

from flowops.kube import ENVIRONMENTS, FLOWS, NAMESPACES
from flowops.runtime import Runtime
from flowops.services import environments
from flowops.services.environmentcounts import INTERVAL_SECONDS
from flowops.testing.objects import barrier, flow, wait_for_number
from flowops.testing.waiting import wait_for

FLOWS_CREATED, FLOWS_DELETED = 40, 8
PRESENT_FLOWS = 120  # judging them takes the reconcile seconds: longer than the counts publisher waits between writes


class CountChanges:
    """Every change of (flows, outOfSync) on one Environment, as its watch delivers them."""

    def __init__(self, kube, env: dict) -> None:
        self.seen: list[tuple] = []
        self._watch = kubernetes.watch.Watch()
        self._api = kubernetes.client.CustomObjectsApi(kube.api)
        self._name, self._version = env["metadata"]["name"], env["metadata"]["resourceVersion"]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CountChanges:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._watch.stop()

    def _run(self) -> None:
        try:
            self._stream()
        except Exception:
            if not self._stopped.is_set():
                raise

    def _stream(self) -> None:
        stream = self._watch.stream(
            self._api.list_cluster_custom_object,
            "flowops.io",
            "v1alpha1",
            "environments",
            field_selector=f"metadata.name={self._name}",
            resource_version=self._version,
            timeout_seconds=300,
        )
        for event in stream:
            status = event["object"].get("status") or {}
            counts = (status.get("flows"), status.get("outOfSync"))
            if not self.seen or self.seen[-1] != counts:
                self.seen.append(counts)


def counts_of(kube, env: dict) -> tuple:
    status = kube.get(ENVIRONMENTS, env["metadata"]["name"]).get("status") or {}
    return status.get("flows"), status.get("outOfSync")


def test_counts_follow_many_flows_with_at_most_one_write_a_second(kube, running_operator, make_environment):
    env = make_environment()
    namespace = env["spec"]["namespace"]
    names = [f"form-{i:02d}" for i in range(FLOWS_CREATED)]
    with CountChanges(kube, env) as changes:
        began = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: kube.create(FLOWS, flow(n, {"title": n}), namespace), names))
        wait_for(lambda: counts_of(kube, env) == (FLOWS_CREATED, 0), timeout=120, message=f"{FLOWS_CREATED} flows counted")
        for name in names[:FLOWS_DELETED]:
            kube.delete(FLOWS, name, namespace)
        left = FLOWS_CREATED - FLOWS_DELETED
        wait_for(lambda: counts_of(kube, env) == (left, 0), timeout=120, message=f"{left} flows counted")
        elapsed = time.monotonic() - began
        wait_for(lambda: changes.seen and changes.seen[-1] == (left, 0), message="the watch delivered the last counts")
    # One write in flight and one a second at most (the first without waiting): never one per Flow event.
    assert len(changes.seen) <= elapsed / INTERVAL_SECONDS + 2, changes.seen
    assert changes.seen[-1] == (left, 0)


def test_a_flow_created_while_its_environment_is_reconciled_is_counted(kube, running_operator):
    """The Environment's reconcile once took the counts when it began and wrote them when it
    ended, over the count a flow created meanwhile had written: the Environment showed one
    flow fewer than it has, until some later Flow event."""
    name = f"cnt-{uuid.uuid4().hex[:6]}"
    namespace = f"ns-{name}"
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        # Flows committed while no Environment claims the namespace: a new Environment's
        # reconcile judges every one under its rules, which keeps it busy for a while.
        present = [f"early-{i:02d}" for i in range(PRESENT_FLOWS)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: kube.create(FLOWS, flow(n, {"title": n}), namespace), present))
        for flow_name in present:
            wait_for_number(kube, namespace, flow_name, 1)
        first = present[0]  # judged first: the reconcile takes them in the order listed
        judged_before = kube.get(FLOWS, first, namespace).get("status")
        rule = {"name": "approved", "expression": "has(content.approved)", "message": "not approved"}
        kube.create(
            ENVIRONMENTS,
            {
                "apiVersion": "flowops.io/v1alpha1",
                "kind": "Environment",
                "metadata": {"name": name},
                "spec": {"namespace": namespace, "tier": "Development", "policy": {"guardrails": [rule]}},
            },
        )
        # The first flow judged anew: the reconcile is under way, its counts already taken.
        wait_for(
            lambda: kube.get(FLOWS, first, namespace).get("status") != judged_before,
            interval=0.01,
            message="the Environment's reconcile judging its flows",
        )
        kube.create(FLOWS, flow("late", {"title": "late"}), namespace)
        # No Flow event comes after this one: a count written over it would stay.
        barrier(kube, FLOWS, namespace, "late")
        env = wait_for(
            lambda: (e := kube.get(ENVIRONMENTS, name)).get("status", {}).get("observedGeneration") == 1 and e,
            message="the Environment's reconcile done",
        )
        wait_for(lambda: counts_of(kube, env) == (PRESENT_FLOWS + 1, 0), message="the late flow counted")
    finally:
        kube.delete(ENVIRONMENTS, name)
        kube.delete(NAMESPACES, namespace)


def test_counts_taken_for_a_deleted_environment_do_not_land_on_its_namesake(kube, kube_as, running_operator, make_environment):
    """A counts write retried through an outage outlives its Environment: deleted and
    created again under the same name (say, governing another namespace), the new one must
    not show what was counted for the old one."""
    old = make_environment()
    name, namespace = old["metadata"]["name"], old["spec"]["namespace"]
    kube.delete(ENVIRONMENTS, name)
    wait_for(lambda: kube.get_or_none(ENVIRONMENTS, name) is None, message=f"Environment {name} gone")
    new = kube.create(
        ENVIRONMENTS,
        {
            "apiVersion": "flowops.io/v1alpha1",
            "kind": "Environment",
            "metadata": {"name": name},
            "spec": {"namespace": namespace, "tier": "Development"},
        },
    )
    wait_for(lambda: counts_of(kube, new) == (0, 0), message="the new Environment's own counts")
    operator = Runtime(kube=kube_as("operator"))

    assert environments.publish_counts(operator, name, old["metadata"]["uid"], (99, 99)) is False
    assert counts_of(kube, new) == (0, 0), "the old Environment's counts were written on the new one"
    # The same write made for the new Environment lands: the refusal was the uid's.
    assert environments.publish_counts(operator, name, new["metadata"]["uid"], (7, 0)) is True
    assert counts_of(kube, new) == (7, 0)
