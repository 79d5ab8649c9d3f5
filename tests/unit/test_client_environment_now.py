"""A client (and an Application) is decided under the Environment that governs its
namespace once its lock is held, not the one its caller looked up before waiting for that lock: an Environment
deleted meanwhile (whose own re-resolve took the lock first) must not be undone by a
Ready decided under it."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from flowops.runtime import Runtime
from flowops.services import bindings_applications, bindings_clients, environmentlookup

NS = "apps"
ENV = {"metadata": {"name": "dev", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"namespace": NS}}


class FakeKube:
    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": namespace, "uid": "u", "resourceVersion": "1"}, "spec": {}}


@pytest.fixture
def decided_under(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    envs: list[Any] = []

    def decide(rt: Runtime, client: Any, env: Any, *_: Any, **__: Any) -> bindings_clients.ClientOutcome:
        envs.append(env)
        return bindings_clients.ClientOutcome({}, False)

    monkeypatch.setattr(bindings_clients, "_reconcile_client", decide)
    return envs


def runtime_with(index: dict[str, list[dict[str, Any]]] | None) -> Runtime:
    indexes = {} if index is None else {environmentlookup.BY_NAMESPACE: index}
    return Runtime(kube=FakeKube(), indexes=indexes)  # type: ignore[arg-type]


def test_without_the_operators_index_the_given_environment_is_used(decided_under: list[Any]) -> None:
    bindings_clients.reconcile_client(runtime_with(None), NS, "web", ENV)
    assert decided_under == [ENV]


def test_an_environment_deleted_while_the_lock_was_awaited_is_not_used(decided_under: list[Any]) -> None:
    index = {NS: [ENV]}
    rt = runtime_with(index)
    waiting = threading.Thread(target=bindings_clients.reconcile_client, args=(rt, NS, "web", ENV))
    with rt.bindings.lock("ApiClient", NS, "web"):  # the deletion's re-resolve holds the client
        waiting.start()  # the client's own handler, with the Environment it looked up before
        index.pop(NS)  # the deletion has reached the index
    waiting.join(timeout=10)
    assert decided_under == [None]


def test_an_environment_created_since_the_lookup_is_used(decided_under: list[Any]) -> None:
    bindings_clients.reconcile_client(runtime_with({NS: [ENV]}), NS, "web", None)
    assert decided_under == [ENV]


def test_an_application_is_decided_under_the_environment_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    envs: list[Any] = []
    monkeypatch.setattr(bindings_applications, "_reconcile_application", lambda rt, app, env, *_: envs.append(env) or {})
    index = {NS: [ENV]}
    rt = runtime_with(index)
    waiting = threading.Thread(target=bindings_applications.reconcile_application, args=(rt, NS, "shop", ENV, lambda: 0))
    with rt.bindings.lock("Application", NS, "shop"):
        waiting.start()
        index.pop(NS)
    waiting.join(timeout=10)
    assert envs == [None]
