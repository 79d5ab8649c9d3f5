"""A fan-out writes every client's ConfigMap before any client's status, and a deferred
status never overwrites what a later reconcile of the same client wrote."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.kube import Conflict, NotFound
from flowops.runtime import Runtime
from flowops.services import bindings, bindings_clients

NS = "apps"


class FakeKube:
    """ApiClients with a resourceVersion each; a status write with a precondition fails with
    Conflict once another write changed the client."""

    def __init__(self, missing: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.missing = missing
        self.versions: dict[str, int] = {}

    def list(self, resource: Any, namespace: str | None = None, **options: Any) -> list[dict[str, Any]]:
        return []  # a large fan-out's snapshot: empty, so each client is read on its own

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        version = str(self.versions.setdefault(name, 1))
        return {"metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "resourceVersion": version}, "spec": {}}

    def patch_status(
        self,
        resource: Any,
        name: str,
        status: dict[str, Any],
        namespace: str | None = None,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        if name in self.missing:
            raise NotFound(404, "NotFound", f"apiclients {name} not found")
        if resource_version is not None and resource_version != str(self.versions.setdefault(name, 1)):
            raise Conflict(409, "Conflict", "the object has been modified")
        self.versions[name] = self.versions.setdefault(name, 1) + 1
        self.calls.append(("status", f"{name}:{status['version']}"))
        return {}


@pytest.fixture
def version(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Stands in for the resolution: writes the ConfigMap (recorded) and returns the changed
    status that names the current version (reconcile_client writes it, now or deferred)."""
    current = {"version": "v2"}

    def fake(
        rt: Runtime, client: Any, env: Any, post: Any, reads: Any, snapshot: Any, resuming: bool = False
    ) -> bindings_clients.ClientOutcome:
        kube: Any = rt.kube
        name = client["metadata"]["name"]
        kube.calls.append(("configmap", f"{name}:{current['version']}"))
        return bindings_clients.ClientOutcome({"version": current["version"]}, True, status_changed=True)

    monkeypatch.setattr(bindings_clients, "_reconcile_client", fake)
    return current


def test_every_configmap_is_written_before_any_status(version: dict[str, str]) -> None:
    kube = FakeKube()
    names = [f"c{i}" for i in range(12)]
    outcomes = bindings.reresolve_clients(Runtime(kube), NS, names, None)  # type: ignore[arg-type]
    kinds = [kind for kind, _ in kube.calls]
    assert kinds == ["configmap"] * 12 + ["status"] * 12
    assert sorted(what for kind, what in kube.calls if kind == "status") == sorted(f"{n}:v2" for n in names)
    assert set(outcomes) == set(names)


def test_a_single_client_writes_its_status_at_once(version: dict[str, str]) -> None:
    kube = FakeKube()
    bindings.reresolve_clients(Runtime(kube), NS, ["only"], None)  # type: ignore[arg-type]
    assert kube.calls == [("configmap", "only:v2"), ("status", "only:v2")]


def test_a_deferred_status_is_dropped_when_the_client_was_reconciled_again(version: dict[str, str]) -> None:
    kube = FakeKube()
    rt = Runtime(kube)  # type: ignore[arg-type]
    writes: bindings_clients.StatusWrites = []
    bindings_clients.reconcile_client(rt, NS, "a", None, status_writes=writes)
    bindings_clients.reconcile_client(rt, NS, "b", None, status_writes=writes)
    version["version"] = "v3"
    bindings_clients.reconcile_client(rt, NS, "a", None)  # its own handler, meanwhile: writes v3
    for write in writes:
        write()
    assert kube.calls == [
        ("configmap", "a:v2"),
        ("configmap", "b:v2"),
        ("configmap", "a:v3"),
        ("status", "a:v3"),
        ("status", "b:v2"),  # a's v2 status, older than what a now holds, was not written
    ]


def test_a_client_deleted_before_its_deferred_status_is_skipped(version: dict[str, str]) -> None:
    kube = FakeKube(missing=frozenset({"gone"}))
    outcomes = bindings.reresolve_clients(Runtime(kube), NS, ["gone", "kept"], None)  # type: ignore[arg-type]
    assert [c for c in kube.calls if c[0] == "status"] == [("status", "kept:v2")]
    assert set(outcomes) == {"gone", "kept"}


def test_a_deferred_status_never_overwrites_another_writers_and_the_client_is_reconciled_afresh(
    version: dict[str, str],
) -> None:
    kube = FakeKube()
    rt = Runtime(kube)  # type: ignore[arg-type]
    writes: bindings_clients.StatusWrites = []
    bindings_clients.reconcile_client(rt, NS, "a", None, status_writes=writes)
    # Another operator process writes the client meanwhile (its own, newer view).
    kube.versions["a"] += 1
    version["version"] = "v3"
    for write in writes:
        write()
    assert kube.calls == [("configmap", "a:v2"), ("configmap", "a:v3"), ("status", "a:v3")]
