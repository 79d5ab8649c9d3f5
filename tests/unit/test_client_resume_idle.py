"""At a restart, an ApiClient whose resume would do nothing is told so from memory, without
a handler thread. Told idle only when the resume handler, given the same client, would make
no API call and no write; anything it cannot tell without one goes to the handler. A client
told idle before its flow was seen is checked by that flow's first event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from flowops.domain import bindingstatus
from flowops.domain.binding import resolve_request
from flowops.domain.materialise import ANN_BINDING, Fingerprint, configmap_name
from flowops.handlers import bindings as binding_handlers
from flowops.names import LABEL_MATERIALISED
from flowops.runtime import Runtime
from flowops.services import bindings_clients, bindings_resume
from flowops.services.bindings_reads import Snapshot
from flowops.testing.flowevents import flow_event

NS, UID = "ns-prod", "uid-web"
HEAD, OTHER = "20261201000000000002", "20261201000000000009"
HELD = Fingerprint("login", HEAD, 2, "sha256:" + "b" * 64, "RestartInProgress")
ENV = {"metadata": {"name": "production"}, "spec": {"namespace": NS}}
NOW = "2026-12-01T00:00:00Z"


class NoApi:
    """Any API call fails the test: idle means none is made."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API was called ({name})")


# What the Application index holds of each (domain.binding.inherited).
APPLICATIONS = {"shop": {"defaultFlow": {"name": "login"}}, "moved": {"defaultFlow": {"name": "signup"}}}


class ApplicationReads(NoApi):
    """The resume handler reads a client's Application (the filter took it from the index)."""

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        assert resource.kind == "Application", f"the API was called (get_or_none {resource.kind})"
        return {"metadata": {"name": name, "namespace": namespace}, "spec": APPLICATIONS[name]}


def client(
    version: str | None = "HEAD", generation: int = 4, status: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    spec = {"defaultFlow": {"name": "login", "version": version}, **spec} if version else spec
    body = {"metadata": {"name": "web", "namespace": NS, "uid": UID, "generation": generation}, "spec": spec}
    body["status"] = written_status(body) if status is None else status
    return body


def written_status(body: dict[str, Any], held: Fingerprint = HELD) -> dict[str, Any]:
    """What the client's last reconcile wrote, as stored (a merge patch drops None)."""
    application = body["spec"].get("application")
    request = resolve_request(body["spec"], APPLICATIONS["shop"] if application else None)
    facts = bindingstatus.client_facts(4, {}, request, held, configmap_name("web"), None)
    return stored(bindingstatus.client_status(facts, None, NOW))


def stored(value: Any) -> Any:
    return {k: stored(v) for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def configmap(held: Fingerprint = HELD, owner_uid: str = UID) -> dict[str, Any]:
    return {
        "name": configmap_name("web"),
        "labels": {LABEL_MATERIALISED: "true"},
        "annotations": {ANN_BINDING: held.to_annotation()},
        "ownerReferences": [{"kind": "ApiClient", "name": "web", "uid": owner_uid}],
    }


def runtime(
    flow_head: str | None = HEAD,
    listed: tuple[str, ...] = ("login",),
    configmaps: tuple[dict[str, Any], ...] = (configmap(),),
    flows_listed: bool = True,
    snapshot_age: float | None = 0.0,
) -> Runtime:
    """`flow_head`: the HEAD the flow's watch event showed (None: not seen yet)."""
    rt = Runtime(kube=NoApi())  # type: ignore[arg-type]
    if flows_listed:
        rt.flows.prime(NS, lambda: list(listed))
    if flow_head is not None:
        rt.flows.observe(NS, "login", None, head=flow_head)
    if snapshot_age is not None:
        taken = time.monotonic() - snapshot_age
        maps = {m["name"]: m for m in configmaps}
        rt.bindings.resume_snapshot(NS, lambda seq: Snapshot(NS, seq, {}, maps), now=lambda: taken)
    return rt


def reconciled_since() -> Runtime:
    rt = runtime()
    rt.bindings.mark_reconciled(NS, "web")
    return rt


CASES = {
    "holds the HEAD its flow's event showed": (partial(runtime), client(), ENV, True),
    "pinned by number to the version it holds": (partial(runtime), client(version="2"), ENV, True),
    "flow listed, not seen yet (its first event checks)": (partial(runtime, flow_head=None), client(), ENV, True),
    "its flow has another HEAD now": (partial(runtime, flow_head=OTHER), client(), ENV, False),
    "pinned to another number": (partial(runtime), client(version="1", status=written_status(client(version="2"))), ENV, False),
    "flow not in its namespace's list": (partial(runtime, flow_head=None, listed=("signup",)), client(), ENV, False),
    "flows of the namespace not listed yet": (partial(runtime, flow_head=None, flows_listed=False), client(), ENV, False),
    "no ConfigMap list": (partial(runtime, snapshot_age=None), client(), ENV, False),
    "a ConfigMap list older than its lifetime": (partial(runtime, snapshot_age=60.0), client(), ENV, False),
    "no ConfigMap in the list": (partial(runtime, configmaps=()), client(), ENV, False),
    "a ConfigMap another client owns": (partial(runtime, configmaps=(configmap(owner_uid="uid-gone"),)), client(), ENV, False),
    "a ConfigMap holding another version": (
        partial(runtime, configmaps=(configmap(Fingerprint("login", OTHER, 3, "sha256:" + "c" * 64, "RestartInProgress")),)),
        client(),
        ENV,
        False,
    ),
    "a spec its status does not describe": (partial(runtime), client(generation=5), ENV, False),
    "a status that would be written again": (
        partial(runtime),
        client(status={**written_status(client()), "followsHead": False}),
        ENV,
        False,
    ),
    "a status without a ConfigMap named": (
        partial(runtime),
        client(status={k: v for k, v in written_status(client()).items() if k != "configMap"}),
        ENV,
        False,
    ),
    "inherits from an Application the index holds": (partial(runtime), client(None, application="shop"), ENV, True),
    "its Application's default moved to another flow": (
        partial(runtime),
        client(None, application="moved", status=written_status(client(None, application="shop"))),
        ENV,
        False,
    ),
    "an Application the index lacks (reading it takes an API call)": (
        partial(runtime),
        client(None, application="gone", status=written_status(client(None, application="shop"))),
        ENV,
        False,
    ),
    "reconciled by this process since its resume body": (reconciled_since, client(), ENV, False),
    "new values its document does not use": (
        partial(runtime),
        client(),
        {**ENV, "spec": {"namespace": NS, "values": {"tenant": "acme"}}},
        True,
    ),
    "no Environment in the index": (partial(runtime), client(), None, False),
}


# Each case's Runtime is made as its test runs: the ConfigMap list in it has a lifetime.
@pytest.mark.parametrize(("make_runtime", "body", "env", "idle"), CASES.values(), ids=CASES.keys())
def test_idle_is_told_from_memory_alone_and_only_when_the_handler_would_do_nothing(
    make_runtime: Callable[[], Runtime], body: dict[str, Any], env: Any, idle: bool
) -> None:
    rt = make_runtime()
    assert bindings_resume.resumes_idle(rt, body, env, APPLICATIONS.get) is idle
    if idle:
        rt.kube = ApplicationReads()  # type: ignore[assignment]
        outcome = bindings_clients.reconcile_client(rt, NS, "web", env, resumed=body)
        assert outcome is not None and not outcome.rewritten and not outcome.status_changed


def test_a_client_rendered_with_a_value_that_changed_goes_to_the_handler() -> None:
    held = Fingerprint("login", HEAD, 2, "sha256:" + "b" * 64, "RestartInProgress", (("tenant", "sha256:old"),))
    rt = runtime(configmaps=(configmap(held),))
    body = client(status=written_status(client(), held))
    env = {**ENV, "spec": {"namespace": NS, "values": {"tenant": "acme"}}}
    assert bindings_resume.resumes_idle(rt, body, ENV | {"spec": {"namespace": NS, "values": {}}}, APPLICATIONS.get) is False
    assert bindings_resume.resumes_idle(rt, body, env, APPLICATIONS.get) is False


@pytest.mark.parametrize(("head", "reresolved"), [(HEAD, []), (OTHER, ["web"])])
def test_a_client_told_idle_before_its_flow_is_resolved_again_only_if_the_flows_first_event_moves_head(
    monkeypatch: pytest.MonkeyPatch, head: str, reresolved: list[str]
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(bindings_clients, "reresolve_moved", lambda rt, namespace, clients, env, post: calls.append(clients))
    rt = runtime(flow_head=None)
    assert bindings_resume.resumes_idle(rt, client(), ENV, APPLICATIONS.get)
    asyncio.run(flow_event(rt, ENV, "login", head))
    assert calls == ([reresolved] if reresolved else []), "no thread for a client that holds the HEAD the event brings"
    asyncio.run(flow_event(rt, ENV, "login", OTHER))
    assert len(calls) == len([reresolved] if reresolved else []), "the wait is handed back once"


class Lists:
    """The calls priming makes: the namespace's flow names and flowops' ConfigMaps."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def iterate(self, resource: Any, namespace: str, metadata_only: bool = False) -> list[dict[str, Any]]:
        self.calls.append(f"flows in {namespace}")
        return [{"metadata": {"name": "login"}}]

    def list(self, resource: Any, namespace: str, **options: Any) -> list[dict[str, Any]]:
        self.calls.append(f"configmaps in {namespace}")
        return [{"metadata": configmap()}]


def test_a_listed_clients_event_lists_its_namespace_once_before_its_resume_is_told(monkeypatch: pytest.MonkeyPatch) -> None:
    kube = Lists()
    rt = Runtime(kube=kube)  # type: ignore[arg-type]
    monkeypatch.setattr(binding_handlers.runtime, "current", lambda: rt)
    index = {NS: [ENV]}
    rt.flows.observe(NS, "login", None, head=HEAD)
    assert not bindings_resume.resumes_idle(rt, client(), ENV, APPLICATIONS.get)  # nothing listed yet

    asyncio.run(binding_handlers.prime_client_resume(type="MODIFIED", namespace=NS, environments_by_namespace=index))
    assert kube.calls == [], "only a listing event primes"
    asyncio.run(binding_handlers.prime_client_resume(type=None, namespace=NS, environments_by_namespace=index))
    asyncio.run(binding_handlers.prime_client_resume(type=None, namespace=NS, environments_by_namespace=index))
    assert kube.calls == [f"flows in {NS}", f"configmaps in {NS}"], "once per namespace"
    assert bindings_resume.resumes_idle(rt, client(), ENV, APPLICATIONS.get)
    asyncio.run(binding_handlers.prime_client_resume(type=None, namespace="elsewhere", environments_by_namespace=index))
    assert kube.calls == [f"flows in {NS}", f"configmaps in {NS}"], "a namespace no Environment manages is not listed"
