"""At a restart, an Application whose resume would write nothing is told so from memory,
without a handler thread and without reading its flow. Told idle only when the resume
handler, resolving the same default, would write the status it has; anything it cannot
tell without a read goes to the handler. One told idle before its flow was seen is
checked by that flow's first event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from flowops.domain import bindingstatus
from flowops.domain.bindingtarget import Problem
from flowops.runtime import Runtime
from flowops.services import applications_resume, bindings_applications
from flowops.testing.flowevents import flow_event

NS = "ns-dev"
HEAD, OTHER = "20261201000000000002", "20261201000000000009"
ENV = {"metadata": {"name": "development"}, "spec": {"namespace": NS}}
PRODUCTION = {"metadata": {"name": "production"}, "spec": {"namespace": NS, "tier": "Production"}}
BROKEN_RULES = {**ENV, "spec": {"namespace": NS, "policy": {"guardrails": {"custom": [{"name": "x", "expression": "(("}]}}}}
NOW = "2026-12-01T00:00:00Z"
CLIENTS = 3


class NoApi:
    """Any API call fails the test: idle means none is made."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API was called ({name})")


def stored(value: Any) -> Any:
    return {k: stored(v) for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def app(
    default: dict[str, Any] | None = None,
    generation: int = 3,
    message: str | None = None,
    problem: Problem | None = None,
    clients: int = CLIENTS,
) -> dict[str, Any]:
    """An Application whose last reconcile wrote `message` (by default what its default
    resolved to at HEAD) and `clients`."""
    default = {"name": "login"} if default is None else default
    if message is None:
        message = written_message(default, 2, HEAD)
    status = bindingstatus.application_status(3, clients, problem, message, None, NOW)
    return {
        "metadata": {"name": "shop", "namespace": NS, "generation": generation},
        "spec": {"defaultFlow": default} if default else {},
        "status": stored(status),
    }


def written_message(default: dict[str, Any], number: int, version_id: str) -> str:
    if not default.get("name"):
        return bindingstatus.NO_DEFAULT_FLOW
    follows_head = str(default.get("version") or "HEAD") in ("HEAD", "latest")
    return bindingstatus.application_message(default["name"], follows_head, number, version_id)


def runtime(flow_head: str | None = HEAD, listed: tuple[str, ...] = ("login",), flows_listed: bool = True) -> Runtime:
    """`flow_head`: the HEAD the flow's watch event showed (None: not seen yet)."""
    rt = Runtime(kube=NoApi())  # type: ignore[arg-type]
    if flows_listed:
        rt.flows.prime(NS, lambda: list(listed))
    if flow_head is not None:
        rt.flows.observe(NS, "login", None, head=flow_head)
    return rt


def headless() -> Runtime:
    rt = runtime(flow_head=None)
    rt.flows.observe(NS, "login", None, head=None)  # seen: no version passes its rules
    return rt


def deleting() -> dict[str, Any]:
    body = app()
    body["metadata"]["deletionTimestamp"] = NOW
    return body


def count() -> int:
    return CLIENTS


# (runtime, body, env, idle, what the handler's resolution finds: (number, id) or None when it is not asked)
CASES: dict[str, tuple[Callable[[], Runtime], dict[str, Any], Any, bool, tuple[int, str] | None]] = {
    "follows HEAD, its flow has one": (runtime, app(), ENV, True, (2, HEAD)),
    "follows HEAD, flow listed and not seen yet (its first event checks)": (partial(runtime, None), app(), ENV, True, None),
    "pinned by number to the HEAD its flow's event showed": (
        runtime,
        app({"name": "login", "version": "2"}, message=written_message({"name": "login", "version": "2"}, 2, HEAD)),
        ENV,
        True,
        (2, HEAD),
    ),
    "no default flow: clients name their own": (runtime, app({}), ENV, True, None),
    "pinned by number, HEAD moved past it (the list tells what it is now)": (
        partial(runtime, OTHER),
        app({"name": "login", "version": "2"}, message=written_message({"name": "login", "version": "2"}, 2, HEAD)),
        ENV,
        False,
        None,
    ),
    "pinned by id": (runtime, app({"name": "login", "version": HEAD}), ENV, False, None),
    "pinned by content hash": (runtime, app({"name": "login", "version": "sha256:" + "a" * 64}), ENV, False, None),
    "its flow has no version that passes": (headless, app(), ENV, False, None),
    "its flow is not in its namespace's list": (partial(runtime, None, ("signup",)), app(), ENV, False, None),
    "its namespace's flows not listed yet": (partial(runtime, None, flows_listed=False), app(), ENV, False, None),
    "a spec its status does not describe": (runtime, app(generation=4), ENV, False, None),
    "a status saying its flow was missing": (
        runtime,
        app(problem=Problem("FlowNotFound", "flow login not found"), message="flow login not found"),
        ENV,
        False,
        None,
    ),
    "flow not seen yet, a status saying it was missing": (
        partial(runtime, None),
        app(problem=Problem("FlowNotFound", "flow login not found"), message="flow login not found"),
        ENV,
        False,
        None,
    ),
    "another count of clients than its status": (runtime, app(clients=CLIENTS + 1), ENV, False, None),
    "HEAD where the environment refuses it": (runtime, app(), PRODUCTION, False, None),
    "guardrails that cannot be used": (runtime, app(), BROKEN_RULES, False, None),
    "no Environment in the index": (runtime, app(), None, False, None),
    "being deleted": (runtime, deleting(), ENV, False, None),
}


@pytest.mark.parametrize(("make_runtime", "body", "env", "idle", "found"), CASES.values(), ids=CASES.keys())
def test_idle_is_told_from_memory_alone_and_only_when_the_handler_would_write_nothing(
    monkeypatch: pytest.MonkeyPatch,
    make_runtime: Callable[[], Runtime],
    body: dict[str, Any],
    env: Any,
    idle: bool,
    found: tuple[int, str] | None,
) -> None:
    rt = make_runtime()
    assert applications_resume.resumes_idle(rt, body, env, count) is idle
    if idle and found is not None:
        # The handler, reading the same Application and resolving its default to `found`, writes nothing.
        rt.kube = Reads(body)  # type: ignore[assignment]
        number, version_id = found
        monkeypatch.setattr(bindings_applications, "target", lambda *_: SimpleNamespace(number=number, id=version_id))
        bindings_applications.reconcile_application(rt, NS, "shop", env, count)
        assert rt.kube.writes == []  # type: ignore[attr-defined]


class Reads(NoApi):
    """The resume handler reads the Application; any write is recorded."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body, self.writes = body, []  # type: list[Any]

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        assert resource.kind == "Application"
        return self.body

    def patch_status(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.writes.append(args)
        return {}


@pytest.mark.parametrize(
    ("default", "head", "rechecked"),
    [
        ({"name": "login"}, HEAD, False),
        ({"name": "login"}, None, True),  # no version passes
        ({"name": "login", "version": "2"}, HEAD, False),
        ({"name": "login", "version": "2"}, OTHER, True),  # HEAD is another version than its pin
    ],
)
def test_one_told_idle_before_its_flow_is_reconciled_only_if_the_flows_first_event_disagrees(
    monkeypatch: pytest.MonkeyPatch, default: dict[str, Any], head: str | None, rechecked: bool
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bindings_applications, "reconcile_application", lambda rt, ns, name, env, count, post: calls.append(name))
    rt = runtime(flow_head=None)
    body = app(default, message=written_message(default, 2, HEAD))
    assert applications_resume.resumes_idle(rt, body, ENV, count)
    asyncio.run(flow_event(rt, ENV, "login", head))
    assert calls == (["shop"] if rechecked else []), "no thread for an Application its flow's event bears out"
    asyncio.run(flow_event(rt, ENV, "login", OTHER))
    assert len(calls) == (1 if rechecked else 0), "the wait is handed back once"


def test_a_flow_deleted_before_its_first_event_reconciles_its_waiting_application(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(bindings_applications, "reconcile_application", lambda rt, ns, name, env, count, post: calls.append(name))
    rt = runtime(flow_head=None)
    assert applications_resume.resumes_idle(rt, app(), ENV, count)
    asyncio.run(flow_event(rt, ENV, "login", HEAD, "DELETED"))
    assert calls == ["shop"]
