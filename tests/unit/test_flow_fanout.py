"""A Flow's event re-resolves the Applications whose default flow it is, found by the
index keyed by that flow: never a walk over every Application of the namespace."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowops.handlers import bindings as binding_handlers
from flowops.testing.fanouts import Reached, record_fan_outs
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
def reached(monkeypatch: pytest.MonkeyPatch) -> Reached:
    return record_fan_outs(monkeypatch)


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


def test_a_new_head_reaches_the_waiting_applications_of_its_flow_only(reached: Reached) -> None:
    apps = application_index(
        {"shop": ("login", WAITING), "blog": ("signup", WAITING), "news": ("login", READY), "bare": (None, WAITING)}
    )
    flow_event("MODIFIED", "login", "login-v1", apps)
    assert reached.applications == ["shop"]
    assert apps.asked == [(NS, "login")]


def test_a_deleted_flow_reaches_the_ready_applications_of_its_flow(reached: Reached) -> None:
    apps = application_index({"shop": ("login", WAITING), "news": ("login", READY), "blog": ("signup", READY)})
    flow_event("DELETED", "login", None, apps)
    assert reached.applications == ["news"]


def test_an_application_without_a_default_flow_is_not_indexed() -> None:
    assert application_index({"bare": (None, WAITING)}) == {}


def test_a_client_reading_the_flow_before_its_new_head_is_reached_though_the_index_lacks_it(reached: Reached) -> None:
    readers = reached.runtime.bindings.flow_readers
    readers.begin(NS, "login", "late", "login-v1")
    readers.begin(NS, "login", "current", "login-v2")
    flow_event("MODIFIED", "login", "login-v2", Index())
    assert reached.clients == ["late"]
