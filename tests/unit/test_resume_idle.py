"""At a restart, a flow whose resume would do nothing is told so from memory, without a
handler thread. Told idle only when the resume handler, given the same flow, would make no
API call and no write; anything it cannot tell without one goes to the handler. A flow
told idle before its upstream was seen is checked by that upstream's first event."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowops.runtime import Runtime
from flowops.services import flowevents
from flowops.services.common import no_events

UP_HEAD, OWN_HEAD = "20261201000000000001", "20261201000000000002"
DEV = {"metadata": {"name": "dev"}, "spec": {"namespace": "ns-dev"}}
STAGING = {"metadata": {"name": "staging"}, "spec": {"namespace": "ns-staging", "upstream": "dev"}}
ENVIRONMENTS = {"dev": DEV, "staging": STAGING}


class NoApi:
    """Any API call fails the test: idle means none is made."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API was called ({name})")


def flow(
    generation: int = 3, sync: dict[str, Any] | None = None, namespace: str = "ns-staging", name: str = "login"
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "observedGeneration": 3,
        "contentHash": "sha256:" + "a" * 64,
        "uncommitted": False,
        "latestCreatedVersion": OWN_HEAD,
        "latestReadyVersion": OWN_HEAD,
        "versionCount": 2,
        "deletionPolicy": "Retain",
        "conditions": [{"type": "Ready", "status": "True", "message": "HEAD is version 2"}],
    }
    if sync is not None:
        status["sync"] = sync
    return {"metadata": {"name": name, "namespace": namespace, "generation": generation}, "spec": {}, "status": status}


def report(upstream_version: str = UP_HEAD, upstream: str = "dev") -> dict[str, Any]:
    return {"upstream": upstream, "version": OWN_HEAD, "upstreamVersion": upstream_version, "state": "InSync"}


def runtime(upstream_seen_with: str | None = None, upstream_awaited: bool = False) -> Runtime:
    rt = Runtime(kube=NoApi())  # type: ignore[arg-type]
    if upstream_awaited or upstream_seen_with is not None:
        rt.flows.prime("ns-dev", lambda: ["login"])  # as the upstream's own events do
    if upstream_seen_with is not None:
        rt.flows.observe("ns-dev", "login", None, head=upstream_seen_with)
    return rt


CASES = {
    "no upstream, settled": (runtime(), flow(namespace="ns-dev"), DEV, True),
    "upstream seen with the HEAD the report names": (runtime(UP_HEAD), flow(sync=report()), STAGING, True),
    "upstream seen with another HEAD": (runtime("20261201000000000009"), flow(sync=report()), STAGING, False),
    "upstream listed, not seen yet (its first event checks)": (
        runtime(upstream_awaited=True),
        flow(sync=report()),
        STAGING,
        True,
    ),
    "upstream not in its namespace's list": (runtime(upstream_awaited=True), flow(sync=report(), name="signup"), STAGING, False),
    "upstream namespace not listed yet": (runtime(), flow(sync=report()), STAGING, False),
    "a spec the status does not describe": (runtime(UP_HEAD), flow(generation=4, sync=report()), STAGING, False),
    "a report naming another upstream": (runtime(UP_HEAD), flow(sync=report(upstream="qa")), STAGING, False),
    "no report": (runtime(UP_HEAD), flow(), STAGING, False),
    "no Environment in the index": (runtime(), flow(namespace="ns-dev"), None, False),
}


@pytest.mark.parametrize(("rt", "body", "env", "idle"), CASES.values(), ids=CASES.keys())
def test_idle_is_told_from_memory_alone(rt: Runtime, body: dict[str, Any], env: Any, idle: bool) -> None:
    assert flowevents.resumes_idle(rt, body, env, ENVIRONMENTS.get) is idle


@pytest.mark.parametrize(
    ("rt", "body", "env"),
    [(rt, body, env) for rt, body, env, idle in CASES.values() if idle],
    ids=[k for k, v in CASES.items() if v[3]],
)
def test_a_flow_told_idle_is_one_the_resume_handler_leaves_alone(rt: Runtime, body: dict[str, Any], env: Any) -> None:
    flowevents.reconcile(rt, body, env, True, ENVIRONMENTS.get, lambda: list(ENVIRONMENTS.values()), no_events)


def test_a_flow_told_idle_before_its_upstream_is_checked_by_the_upstreams_first_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    republished: list[tuple[str, Any]] = []
    monkeypatch.setattr(flowevents, "_republish", lambda rt, name, stale, lookup: republished.append((name, stale)))
    for upstream_head, stale in ((UP_HEAD, False), ("20261201000000000009", True)):
        rt = runtime(upstream_awaited=True)
        rt.flows.observe("ns-staging", "login", report(), head=OWN_HEAD)  # its own event, before the filter
        assert flowevents.resumes_idle(rt, flow(sync=report()), STAGING, ENVIRONMENTS.get)
        republished.clear()
        asyncio.run(observe(rt, "ns-dev", "login", DEV, head=upstream_head))
        assert [name for name, _ in republished] == (["login"] if stale else [])


class Lists:
    """The one API call priming makes: a namespace's flow names."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names, self.listed = names, []

    def iterate(self, resource: Any, namespace: str, metadata_only: bool = False) -> list[dict[str, Any]]:
        self.listed.append(namespace)
        return [{"metadata": {"name": name}} for name in self.names[namespace]]


def test_a_flows_event_lists_its_upstreams_namespace_before_its_resume_is_told() -> None:
    kube = Lists({"ns-staging": ["login"], "ns-dev": ["login"]})
    rt = Runtime(kube=kube)  # type: ignore[arg-type]
    assert not flowevents.resumes_idle(rt, flow(sync=report()), STAGING, ENVIRONMENTS.get)  # nothing known yet
    asyncio.run(observe(rt, "ns-staging", "login", STAGING, head=OWN_HEAD, sync=report()))
    assert kube.listed == ["ns-staging", "ns-dev"]
    assert flowevents.resumes_idle(rt, flow(sync=report()), STAGING, ENVIRONMENTS.get)
    asyncio.run(observe(rt, "ns-staging", "signup", STAGING, head=OWN_HEAD))
    assert kube.listed == ["ns-staging", "ns-dev"], "each namespace is listed once"


async def observe(rt: Runtime, namespace: str, name: str, env: Any, head: str, sync: dict[str, Any] | None = None) -> None:
    await flowevents.observe(
        rt,
        "ADDED",
        name,
        namespace,
        sync,
        env,
        env_by_name=ENVIRONMENTS.get,
        all_environments=lambda: list(ENVIRONMENTS.values()),
        known_counts=None,
        head=head,
        indexed_env=ENVIRONMENTS.get,
    )
