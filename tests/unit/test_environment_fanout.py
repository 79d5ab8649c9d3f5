"""An Environment's change re-resolves the clients it touches, taken from the client index.
A client the operator has just bound, whose status event has not reached the index yet,
must be among them: otherwise an Environment deleted at that moment leaves it Ready."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowops.handlers import bindings as binding_handlers
from flowops.runtime import Runtime

NS = "ns-dev"
ENV = {"metadata": {"name": "dev"}, "spec": {"namespace": NS}}
READY = {
    "requested": {"name": "login", "version": "HEAD"},
    "flow": "login",
    "version": "login-v1",
    "conditions": [{"type": "Resolved", "status": "True", "reason": "Resolved"}],
}
NO_ENVIRONMENT = {**READY, "conditions": [{"type": "Resolved", "status": "False", "reason": "NoEnvironment"}]}


def client_index(clients: dict[str, dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """What Kopf's index holds after each client's last event, built by the index itself."""
    index: dict[Any, list[dict[str, Any]]] = {}
    for name, status in clients.items():
        for key, entry in asyncio.run(binding_handlers.apiclients_by_flow(name=name, namespace=NS, status=status)).items():
            index.setdefault(key, []).append(entry)
    return index


@pytest.fixture
def reresolved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    monkeypatch.setattr(binding_handlers.runtime, "current", lambda: rt)
    names: list[str] = []
    monkeypatch.setattr(binding_handlers, "_reresolve", lambda namespace, clients, *_: names.extend(clients))
    return names


def environment_event(kind: str, clients: dict[str, dict[str, Any]]) -> None:
    binding_handlers.environment_changed(
        type=kind,
        body=ENV,
        spec=ENV["spec"],
        apiclients_by_flow=client_index(clients),
        applications_by_namespace={},
        apiclients_by_application={},
        environments_by_namespace={} if kind == "DELETED" else {NS: [ENV]},
    )


def test_deletion_reaches_a_client_whose_status_the_index_does_not_show_yet(reresolved: list[str]) -> None:
    environment_event("DELETED", {"bound-a-moment-ago": {}, "shown-ready": READY})
    assert sorted(reresolved) == ["bound-a-moment-ago", "shown-ready"]


def test_deletion_leaves_clients_already_told_alone(reresolved: list[str]) -> None:
    environment_event("DELETED", {"told": NO_ENVIRONMENT})
    assert reresolved == []


def test_a_new_environment_reaches_the_clients_it_governs_now(reresolved: list[str]) -> None:
    environment_event("ADDED", {"waiting": NO_ENVIRONMENT, "ready": READY, "not-shown-yet": {}})
    assert sorted(reresolved) == ["not-shown-yet", "waiting"]
