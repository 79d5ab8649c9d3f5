"""A Flow's event re-resolves the Applications whose default flow it is, found by the
index keyed by that flow: never a walk over every Application of the namespace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowops.handlers import bindings as binding_handlers
from flowops.runtime import Runtime
from flowops.testing.indexes import RecordingIndex as Index

NS = "ns-dev"
READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "Resolved"}]}
WAITING = {"conditions": [{"type": "Ready", "status": "False", "reason": "FlowNotFound"}]}


def application_index(apps: dict[str, tuple[str | None, dict[str, Any]]]) -> Index:
    """What Kopf's index holds after each Application's last event, built by the index itself."""
    index = Index()
    for name, (flow, status) in apps.items():
        spec = {"defaultFlow": {"name": flow}} if flow else {}
        for key, entry in asyncio.run(
            binding_handlers.applications_by_flow(name=name, namespace=NS, spec=spec, status=status)
        ).items():
            index.setdefault(key, []).append(entry)
    return index


@pytest.fixture
def reresolved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    monkeypatch.setattr(binding_handlers.runtime, "current", lambda: rt)
    names: list[str] = []
    monkeypatch.setattr(binding_handlers, "_reresolve", lambda namespace, clients, apps, *_: names.extend(apps))
    return names


def flow_event(kind: str, flow: str, head: str | None, apps: Index) -> None:
    asyncio.run(
        binding_handlers.flow_changed(
            type=kind,
            name=flow,
            namespace=NS,
            status={"latestReadyVersion": head} if head else {},
            apiclients_by_flow={},
            applications_by_flow=apps,
            apiclients_by_application={},
            environments_by_namespace={},
        )
    )


def test_a_new_head_reaches_the_waiting_applications_of_its_flow_only(reresolved: list[str]) -> None:
    apps = application_index(
        {"shop": ("login", WAITING), "blog": ("signup", WAITING), "news": ("login", READY), "bare": (None, WAITING)}
    )
    flow_event("MODIFIED", "login", "login-v1", apps)
    assert reresolved == ["shop"]
    assert apps.asked == [(NS, "login")]


def test_a_deleted_flow_reaches_the_ready_applications_of_its_flow(reresolved: list[str]) -> None:
    apps = application_index({"shop": ("login", WAITING), "news": ("login", READY), "blog": ("signup", READY)})
    flow_event("DELETED", "login", None, apps)
    assert reresolved == ["news"]


def test_an_application_without_a_default_flow_is_not_indexed() -> None:
    assert application_index({"bare": (None, WAITING)}) == {}


def test_a_client_reading_the_flow_before_its_new_head_is_reached_though_the_index_lacks_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    monkeypatch.setattr(binding_handlers.runtime, "current", lambda: rt)
    reached: list[str] = []
    monkeypatch.setattr(binding_handlers, "_reresolve", lambda namespace, clients, apps, *_: reached.extend(clients))
    rt.bindings.flow_readers.begin(NS, "login", "late", "login-v1")
    rt.bindings.flow_readers.begin(NS, "login", "current", "login-v2")
    flow_event("MODIFIED", "login", "login-v2", Index())
    assert reached == ["late"]
