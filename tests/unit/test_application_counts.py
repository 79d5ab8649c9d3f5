"""An Application's status.clients follows its clients. Every client event asks; while the
Application index has not caught up with a count just written, the count is not written
again, and a change of count never reads the Application's flow or its versions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowops.handlers import bindings as binding_handlers
from flowops.kube import NotFound
from flowops.runtime import Runtime
from flowops.services import bindings_applications, bindings_concurrency
from flowops.testing.indexes import RecordingIndex as Index

NS = "ns-dev"


class Api:
    """Records every call; only an Application's status may be written or read."""

    def __init__(self, missing: bool = False) -> None:
        self.calls: list[tuple[str, Any, ...]] = []
        self.missing = missing

    def patch_status(
        self, resource: Any, name: str, status: dict[str, Any], namespace: str | None = None, resource_version: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(("patch_status", resource.kind, name, status))
        if self.missing:
            raise NotFound(404, "NotFound", f"applications {name} not found")
        return {"metadata": {"name": name}}

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        assert resource.kind == "Application", f"{resource.kind} {name} was read"
        self.calls.append(("get", resource.kind, name))
        return {"metadata": {"name": name, "namespace": namespace, "generation": 1}, "spec": {}, "status": {}}

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API was called ({name})")


def indexes(clients: int, shown: int | None) -> dict[str, Any]:
    """The two indexes count_clients reads: the Application's count as last seen, its clients now."""
    return {
        "application_clients": Index({(NS, "shop"): [shown]}),
        "apiclients_by_application": Index({(NS, "shop"): [f"client-{i}" for i in range(clients)]}),
    }


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Api:
    api = Api()
    rt = Runtime(kube=api)  # type: ignore[arg-type]
    monkeypatch.setattr(binding_handlers.runtime, "current", lambda: rt)
    return api


def event(clients: int, shown: int | None) -> None:
    asyncio.run(
        binding_handlers.count_clients(
            type="MODIFIED", name="client-0", namespace=NS, spec={"application": "shop"}, **indexes(clients, shown)
        )
    )


def client_event(kind: str, name: str, application: str | None, index: dict[str, Any]) -> None:
    asyncio.run(binding_handlers.count_clients(type=kind, name=name, namespace=NS, spec={"application": application}, **index))


def test_a_burst_of_clients_writes_each_count_once_and_reads_nothing(api: Api) -> None:
    for _ in range(5):  # five events of the third client while the index still shows two
        event(3, shown=2)
    assert api.calls == [("patch_status", "Application", "shop", {"clients": 3})]
    event(4, shown=2)  # a fourth client before the index saw the third's count
    event(4, shown=3)
    assert api.calls[1:] == [("patch_status", "Application", "shop", {"clients": 4})]
    event(4, shown=4)
    assert len(api.calls) == 2


def test_the_index_is_believed_once_the_write_is_old(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    event(3, shown=2)
    # Long after, the index still shows 2: another process may have written it since.
    monkeypatch.setattr(bindings_concurrency, "APPLICATION_CLIENTS_TTL", -1.0)
    event(3, shown=2)
    assert [c[3] for c in api.calls] == [{"clients": 3}, {"clients": 3}]


def test_a_count_the_index_shows_is_not_written(api: Api) -> None:
    event(2, shown=2)
    assert api.calls == []


def test_an_application_deleted_meanwhile_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(missing=True)
    rt = Runtime(kube=api)  # type: ignore[arg-type]
    monkeypatch.setattr(binding_handlers.runtime, "current", lambda: rt)
    event(3, shown=2)
    event(3, shown=2)  # not remembered as written: asked again
    assert len(api.calls) == 2


def test_the_applications_own_reconcile_counts_under_its_lock(api: Api) -> None:
    rt = binding_handlers.runtime.current()
    counted: list[int] = []

    def count() -> int:
        counted.append(3)
        return 3

    bindings_applications.reconcile_application(rt, NS, "shop", None, count)
    assert counted == [3]
    assert api.calls[-1] == ("patch_status", "Application", "shop", api.calls[-1][3])
    assert api.calls[-1][3]["clients"] == 3
    written = len(api.calls)
    event(3, shown=None)  # its own event has not arrived yet: the count it wrote is not written again
    assert len(api.calls) == written


def two_applications(shop: list[str], blog: list[str], shown: tuple[int, int]) -> dict[str, Any]:
    return {
        "application_clients": Index({(NS, "shop"): [shown[0]], (NS, "blog"): [shown[1]]}),
        "apiclients_by_application": Index({(NS, "shop"): shop, (NS, "blog"): blog}),
    }


def test_a_client_that_moves_is_counted_on_both_applications(api: Api) -> None:
    client_event("ADDED", "mover", "shop", two_applications(["mover"], [], shown=(1, 0)))
    assert api.calls == []
    client_event("MODIFIED", "mover", "blog", two_applications([], ["mover"], shown=(1, 0)))
    assert sorted(api.calls) == [
        ("patch_status", "Application", "blog", {"clients": 1}),
        ("patch_status", "Application", "shop", {"clients": 0}),
    ]


def test_a_deleted_client_is_counted_off_its_application(api: Api) -> None:
    client_event("ADDED", "leaver", "shop", two_applications(["leaver"], [], shown=(1, 0)))
    deleted = two_applications([], [], shown=(1, 0))
    client_event("DELETED", "leaver", "shop", deleted)
    assert api.calls == [("patch_status", "Application", "shop", {"clients": 0})]
    assert deleted["application_clients"].asked == [(NS, "shop")], "counted once"
    # Forgotten once deleted: a namesake created under another Application moves nothing.
    client_event("ADDED", "leaver", "blog", two_applications([], ["leaver"], shown=(0, 1)))
    assert len(api.calls) == 1


def test_a_client_event_asks_only_for_its_own_application(api: Api) -> None:
    """Not a walk over the namespace's Applications: one event, one Application, however many."""
    many = {(NS, f"app-{i}"): [0] for i in range(1000)}
    index = {
        "application_clients": Index({**many, (NS, "shop"): [2]}),
        "apiclients_by_application": Index({(NS, "shop"): ["a", "b"]}),
    }
    client_event("MODIFIED", "a", "shop", index)
    assert index["application_clients"].asked == [(NS, "shop")]
    assert api.calls == []


def test_an_application_not_seen_yet_is_left_to_its_own_reconcile(api: Api) -> None:
    client_event(
        "ADDED",
        "early",
        "not-yet",
        {"application_clients": Index(), "apiclients_by_application": Index({(NS, "not-yet"): ["early"]})},
    )
    assert api.calls == []
