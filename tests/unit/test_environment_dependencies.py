"""An Environment's status follows what it depends on: its namespace and the Environments
its upstream chain passes through, when they come or go, not only when it changes itself."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import kopf
import pytest
from yarl import URL

from flowops import listings, metricshooks, runtime
from flowops.handlers import environments as handlers
from flowops.runtime import Runtime
from flowops.services import environmentreconcile
from flowops.testing.indexes import RecordingIndex


class NoApi:
    """A handler that must not reach the API server: any call fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"API call {name}")


@pytest.fixture
def reconciled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []

    async def reconcile_named(rt: Runtime, name: str, *_: Any, **__: Any) -> None:
        names.append(name)

    monkeypatch.setattr(runtime, "_current", Runtime(kube=NoApi()))  # type: ignore[arg-type]
    monkeypatch.setattr(environmentreconcile, "reconcile_named", reconcile_named)
    return names


def by_name(**upstreams: str | None) -> dict[str, list[dict[str, Any]]]:
    return {n: [{"metadata": {"name": n}, "spec": {"namespace": f"ns-{n}", "upstream": u}}] for n, u in upstreams.items()}


def by_namespace(index: dict[str, list[dict[str, Any]]]) -> RecordingIndex:
    return RecordingIndex({entry[0]["spec"]["namespace"]: entry for entry in index.values()})


# prod → staging → dev; other alone.
CHAIN = by_name(dev=None, staging="dev", prod="staging", other=None)


@pytest.mark.parametrize(
    ("type", "namespace", "expected"),
    [
        ("ADDED", "ns-staging", ["staging"]),
        ("DELETED", "ns-staging", ["staging"]),
        ("MODIFIED", "ns-staging", []),  # labels, annotations, its own status: nothing an Environment shows
        (None, "ns-staging", []),  # the initial listing: every Environment is resumed anyway
        ("ADDED", "kube-system", []),  # named by no Environment
    ],
)
def test_a_namespace_coming_or_going_reconciles_the_environments_naming_it(
    reconciled: list[str], type: str | None, namespace: str, expected: list[str]
) -> None:
    asyncio.run(
        handlers.namespace_changed(
            name=namespace, type=type, environments_by_namespace=by_namespace(CHAIN), environments_by_name=CHAIN
        )
    )
    assert reconciled == expected


@pytest.fixture
def fresh_listings() -> Any:
    listings.forget()
    yield listings
    listings.forget()


def test_a_namespace_re_listed_after_the_watch_broke_reconciles_the_environments_naming_it(
    reconciled: list[str], fresh_listings: Any
) -> None:
    """Created while no watch ran (410 Gone, a pause): the re-list brings it as type=None,
    and the Environment waiting for it looks again; the start-up listing is left to resume."""

    def listed(namespace: str) -> None:
        asyncio.run(
            handlers.namespace_changed(
                name=namespace, type=None, environments_by_namespace=by_namespace(CHAIN), environments_by_name=CHAIN
            )
        )

    listings.note_list_request("namespaces", {"limit": "100"})
    listings.note_list_request("namespaces", {"limit": "100", "continue": "page-2"})  # the same listing
    listed("ns-staging")
    assert reconciled == []
    listings.note_list_request("flows", {"limit": "100"})  # another kind's listing is not the namespaces'
    listed("ns-staging")
    assert reconciled == []
    listings.note_list_request("namespaces", {"limit": "100"})  # the re-list
    listed("ns-staging")
    listed("team-x")
    assert reconciled == ["staging"]


def test_a_namespace_no_environment_names_costs_one_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of namespaces: each event looks at the index once and asks the API nothing."""
    monkeypatch.setattr(runtime, "_current", Runtime(kube=NoApi()))  # type: ignore[arg-type]
    index = by_namespace(CHAIN)
    for type in ("ADDED", "DELETED", "MODIFIED", None):
        asyncio.run(
            handlers.namespace_changed(name="team-x", type=type, environments_by_namespace=index, environments_by_name={})
        )
    assert index.asked == ["team-x", "team-x"]


@pytest.mark.parametrize(
    ("type", "name", "expected"),
    [
        ("ADDED", "dev", ["prod", "staging"]),
        ("DELETED", "dev", ["prod", "staging"]),
        ("DELETED", "staging", ["prod"]),
        ("ADDED", "prod", []),  # nothing downstream
        ("MODIFIED", "dev", []),  # status writes (counts) are frequent and change no chain
        (None, "dev", []),
    ],
)
def test_an_environment_coming_or_going_reconciles_those_downstream(
    reconciled: list[str], type: str | None, name: str, expected: list[str]
) -> None:
    index = CHAIN if type != "DELETED" else {k: v for k, v in CHAIN.items() if k != name}  # as Kopf's index has it then
    asyncio.run(
        handlers.chain_changed(name=name, type=type, environments_by_name=index, environments_by_namespace=by_namespace(index))
    )
    assert reconciled == expected


@pytest.fixture
def own_reconcile(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names: list[str] = []

    async def reconcile(rt: Runtime, env: Any, *_: Any, **__: Any) -> None:
        names.append(env["metadata"]["name"])

    monkeypatch.setattr(environmentreconcile, "reconcile", reconcile)
    return names


@pytest.mark.parametrize(
    ("reason", "old", "new", "expected"),
    [
        (kopf.Reason.UPDATE, "dev", "other", ["prod"]),
        (kopf.Reason.UPDATE, None, "other", ["prod"]),
        (kopf.Reason.UPDATE, "dev", "dev", []),  # another field changed: no chain did
        (kopf.Reason.CREATE, None, "dev", []),  # chain_changed's, on the ADDED event
        (kopf.Reason.RESUME, None, "dev", []),  # start-up reconciles every Environment
    ],
)
def test_a_changed_upstream_reconciles_those_downstream(
    reconciled: list[str], own_reconcile: list[str], reason: kopf.Reason, old: str | None, new: str, expected: list[str]
) -> None:
    index = {**CHAIN, **by_name(staging=new)}  # the index holds the new spec by then
    body = {"metadata": {"name": "staging"}, "spec": {"namespace": "ns-staging", "upstream": new}}
    asyncio.run(
        handlers.reconcile_environment(
            body=body,
            reason=reason,
            old=None if reason != kopf.Reason.UPDATE else {"spec": {"upstream": old}},
            new={"spec": {"upstream": new}},
            environments_by_name=index,
            environments_by_namespace=by_namespace(index),
        )
    )
    assert reconciled == expected and own_reconcile == ["staging"]


def test_kopfs_namespace_listings_are_counted_from_its_requests(fresh_listings: Any) -> None:
    """What tells a re-list: Kopf's own list request, seen on its traced session."""
    [end] = metricshooks.kopf_trace().on_request_end

    def request(url: str) -> None:
        params = SimpleNamespace(method="GET", url=URL(url), response=SimpleNamespace(status=200))
        asyncio.run(end(None, SimpleNamespace(), params))

    request("https://api/api/v1/namespaces?limit=100")
    request("https://api/api/v1/namespaces?limit=100&continue=abc")
    request("https://api/api/v1/namespaces?watch=true&resourceVersion=5")
    request("https://api/api/v1/namespaces/ns-staging")
    assert not listings.relisted("namespaces")
    request("https://api/api/v1/namespaces?limit=100")
    assert listings.relisted("namespaces")
