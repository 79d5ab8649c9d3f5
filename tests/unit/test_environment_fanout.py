"""An Environment's change re-resolves the clients it touches, taken from the client index.
A client the operator has just bound, whose status event has not reached the index yet,
must be among them: otherwise an Environment deleted at that moment leaves it Ready."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowops.handlers import bindings as binding_handlers
from flowops.testing.fanouts import Reached, record_fan_outs

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
def reached(monkeypatch: pytest.MonkeyPatch) -> Reached:
    return record_fan_outs(monkeypatch)


def application_index(apps: dict[tuple[str, str], tuple[str, str]]) -> dict[Any, list[dict[str, Any]]]:
    """(namespace, name) -> (default flow, version), each Application Ready: as the index holds them."""
    index: dict[Any, list[dict[str, Any]]] = {}
    for (namespace, name), (flow, version) in apps.items():
        spec = {"defaultFlow": {"name": flow, "version": version}}
        status = {"conditions": [{"type": "Ready", "status": "True", "reason": "Resolved"}]}
        entries = asyncio.run(binding_handlers.applications_by_flow(name=name, namespace=namespace, spec=spec, status=status))
        for key, entry in entries.items():
            index.setdefault(key, []).append(entry)
    return index


def environment_event(
    kind: str, clients: dict[str, dict[str, Any]], apps: dict[Any, list[dict[str, Any]]] | None = None, env: dict = ENV
) -> None:
    binding_handlers.environment_changed(
        type=kind,
        body=env,
        spec=env["spec"],
        apiclients_by_flow=client_index(clients),
        applications_by_flow=apps or {},
        apiclients_by_application={},
        environments_by_namespace={} if kind == "DELETED" else {NS: [env]},
    )


def test_deletion_reaches_a_client_whose_status_the_index_does_not_show_yet(reached: Reached) -> None:
    environment_event("DELETED", {"bound-a-moment-ago": {}, "shown-ready": READY})
    assert sorted(reached.clients) == ["bound-a-moment-ago", "shown-ready"]


def test_deletion_leaves_clients_already_told_alone(reached: Reached) -> None:
    environment_event("DELETED", {"told": NO_ENVIRONMENT})
    assert reached.clients == []


def test_a_new_environment_reaches_the_clients_it_governs_now(reached: Reached) -> None:
    environment_event("ADDED", {"waiting": NO_ENVIRONMENT, "ready": READY, "not-shown-yet": {}})
    assert sorted(reached.clients) == ["not-shown-yet", "waiting"]


def test_head_refused_from_now_on_reaches_the_ready_head_applications_of_its_namespace(reached: Reached) -> None:
    production = {"metadata": {"name": "prod"}, "spec": {"namespace": NS, "tier": "Production"}}
    apps = application_index(
        {
            (NS, "follows-head"): ("login", "HEAD"),
            (NS, "pinned"): ("login", "1"),
            (NS, "other-flow"): ("signup", "HEAD"),
            ("ns-elsewhere", "elsewhere"): ("login", "HEAD"),
        }
    )
    environment_event("MODIFIED", {}, apps, env=production)
    assert sorted(reached.applications) == ["follows-head", "other-flow"]
