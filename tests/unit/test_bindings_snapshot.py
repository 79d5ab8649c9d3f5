"""A large fan-out reads ApiClients and ConfigMaps from one snapshot, and falls back to
fresh reads for a client reconciled since (its own handler, or a failed attempt)."""

import pytest

from flowops.kube import Conflict
from flowops.runtime import Runtime
from flowops.services import bindings, bindings_clients, bindings_concurrency
from flowops.services.bindings_concurrency import BindingState
from flowops.services.bindings_reads import Reads, Snapshot

NS = "apps"


def client(name, spec_version="HEAD"):
    return {
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
        "spec": {"defaultFlow": {"name": "f", "version": spec_version}},
    }


def configmap_metadata(name):
    return {"name": f"{name}-flow", "namespace": NS, "resourceVersion": "1"}


class FakeKube:
    """Serves the listed objects and records every call; GETs answer "fresh"."""

    def __init__(self, names):
        self.names = names
        self.calls = []

    def list(self, resource, namespace=None, **options):
        self.calls.append(("list", resource.plural, options))
        if resource.plural == "apiclients":
            return [client(n) for n in self.names]
        return [{"metadata": configmap_metadata(n)} for n in self.names]

    def get_or_none(self, resource, name, namespace=None):
        self.calls.append(("get", resource.plural, name))
        return {**client(name), "fresh": True}

    def get_metadata(self, resource, name, namespace=None):
        self.calls.append(("get_metadata", resource.plural, name))
        return {"metadata": {**configmap_metadata(name.removesuffix("-flow")), "resourceVersion": "2"}}

    def gets(self):
        return [c for c in self.calls if c[0] != "list"]


@pytest.fixture
def seen(monkeypatch):
    """Stands in for the resolution: records the client and ConfigMap metadata it was given;
    fails the first attempts listed in `fail`."""
    record = {"calls": [], "fail": 0}

    def fake(rt, client_obj, env, post, reads, snapshot, resuming=False):
        cm = bindings_clients._configmap_metadata(rt.kube, NS, f"{client_obj['metadata']['name']}-flow", snapshot)
        record["calls"].append((client_obj, cm))
        if record["fail"]:
            record["fail"] -= 1
            raise Conflict(409, "Conflict", "the object has been modified")
        return bindings_clients.ClientOutcome({}, False)

    monkeypatch.setattr(bindings_clients, "_reconcile_client", fake)
    return record


def test_snapshot_usable_only_for_clients_not_reconciled_since_it_was_taken():
    snapshot = Snapshot(NS, taken=10, clients={}, configmaps={})
    assert snapshot.usable(NS, None)
    assert snapshot.usable(NS, 9)
    assert not snapshot.usable(NS, 11)
    assert not snapshot.usable("other", None)


def test_snapshot_lists_clients_and_only_flowops_configmaps_metadata():
    kube = FakeKube(["a", "b"])
    reads = Reads(kube, BindingState())
    reads.take_snapshot(NS)
    assert kube.calls == [
        ("list", "apiclients", {}),
        ("list", "configmaps", {"label_selector": "flowops.io/materialised=true", "metadata_only": True}),
    ]
    assert set(reads.snapshot.clients) == {"a", "b"}
    assert reads.snapshot.configmaps["a-flow"] == configmap_metadata("a")


def test_fan_out_reads_nothing_per_client(seen):
    kube = FakeKube(["a", "b"])
    rt = Runtime(kube)  # a fresh process: its own locks and reconcile marks
    reads = Reads(kube, rt.bindings)
    reads.take_snapshot(NS)
    bindings_clients.reconcile_client(rt, NS, "a", None, reads=reads)
    assert kube.gets() == []
    assert seen["calls"] == [(client("a"), configmap_metadata("a"))]


def test_names_missing_from_the_snapshot_are_read_fresh(seen):
    kube = FakeKube(["a"])
    rt = Runtime(kube)  # a fresh process: its own locks and reconcile marks
    reads = Reads(kube, rt.bindings)
    reads.take_snapshot(NS)
    kube.names = ["a", "new"]
    bindings_clients.reconcile_client(rt, NS, "new", None, reads=reads)
    assert kube.gets() == [("get", "apiclients", "new"), ("get_metadata", "configmaps", "new-flow")]


def test_retry_after_a_failed_write_reads_fresh(seen):
    kube = FakeKube(["a"])
    rt = Runtime(kube)  # a fresh process: its own locks and reconcile marks
    reads = Reads(kube, rt.bindings)
    reads.take_snapshot(NS)
    seen["fail"] = 1
    bindings_concurrency.with_retries(lambda: bindings_clients.reconcile_client(rt, NS, "a", None, reads=reads), "test", delay=0)
    (first, first_cm), (second, second_cm) = seen["calls"]
    assert "fresh" not in first and first_cm["resourceVersion"] == "1"
    assert second["fresh"] and second_cm["resourceVersion"] == "2"


def test_a_client_reconciled_by_its_own_handler_since_the_snapshot_is_read_fresh(seen):
    kube = FakeKube(["a", "b"])
    rt = Runtime(kube)  # a fresh process: its own locks and reconcile marks
    reads = Reads(kube, rt.bindings)
    reads.take_snapshot(NS)
    bindings_clients.reconcile_client(rt, NS, "a", None)  # its own handler: always fresh
    bindings_clients.reconcile_client(rt, NS, "a", None, reads=reads)
    bindings_clients.reconcile_client(rt, NS, "b", None, reads=reads)
    assert [c for c in kube.gets() if c[0] == "get"] == [("get", "apiclients", "a"), ("get", "apiclients", "a")]


@pytest.mark.parametrize("count, lists", [(bindings.SNAPSHOT_MIN_CLIENTS - 1, 0), (bindings.SNAPSHOT_MIN_CLIENTS, 2)])
def test_only_larger_fan_outs_take_a_snapshot(seen, count, lists):
    names = [f"c{i}" for i in range(count)]
    kube = FakeKube(names)
    bindings.reresolve_clients(Runtime(kube), NS, names, None)
    assert sum(c[0] == "list" for c in kube.calls) == lists
    assert len(kube.gets()) == (0 if lists else 2 * count)


def test_a_resumed_client_is_taken_from_its_resume_body_until_this_process_reconciles_it(seen):
    kube = FakeKube(["a"])
    rt = Runtime(kube)  # a fresh process: nothing reconciled yet
    resumed = {**client("a"), "resumed": True}
    bindings_clients.reconcile_client(rt, NS, "a", None, resumed=resumed)
    assert seen["calls"][-1][0] is resumed
    assert [c for c in kube.gets() if c[0] == "get"] == []
    # Reconciled since (a fan-out may have written its status): the body is too old now.
    bindings_clients.reconcile_client(rt, NS, "a", None, resumed=resumed)
    assert seen["calls"][-1][0]["fresh"]


def test_resumed_clients_share_one_configmap_list_until_one_is_reconciled_again(seen):
    kube = FakeKube(["a", "b"])
    rt = Runtime(kube)  # a fresh process: a restart resumes every client
    for name in ("a", "b"):
        bindings_clients.reconcile_client(rt, NS, name, None, resumed=client(name))
    assert [c for c in kube.calls if c[0] == "list"] == [
        ("list", "configmaps", {"label_selector": "flowops.io/materialised=true", "metadata_only": True})
    ]
    assert kube.gets() == []
    assert [cm for _, cm in seen["calls"]] == [configmap_metadata("a"), configmap_metadata("b")]
    # Reconciled since the list (it may have written its ConfigMap): read fresh.
    bindings_clients.reconcile_client(rt, NS, "a", None, resumed=client("a"))
    assert kube.gets() == [("get", "apiclients", "a"), ("get_metadata", "configmaps", "a-flow")]


def test_the_resume_snapshot_is_taken_once_per_namespace_and_again_when_old():
    state, taken, clock = BindingState(), [], [0.0]

    def take(namespace):
        return lambda sequence: taken.append((namespace, sequence)) or len(taken)

    now = lambda: clock[0]  # noqa: E731
    assert state.resume_snapshot("a", take("a"), now) == 1
    assert state.resume_snapshot("a", take("a"), now) == 1
    assert state.resume_snapshot("b", take("b"), now) == 2
    clock[0] = bindings_concurrency.RESUME_SNAPSHOT_TTL + 1
    assert state.resume_snapshot("a", take("a"), now) == 3
    assert [n for n, _ in taken] == ["a", "b", "a"]
