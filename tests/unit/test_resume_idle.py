"""At a restart, a flow whose resume would do nothing is told so from memory, without a
handler thread. Told idle only when the resume handler, given the same flow, would make no
API call and no write; anything it cannot tell without one goes to the handler."""

from __future__ import annotations

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


def flow(generation: int = 3, sync: dict[str, Any] | None = None, namespace: str = "ns-staging") -> dict[str, Any]:
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
    return {"metadata": {"name": "login", "namespace": namespace, "generation": generation}, "spec": {}, "status": status}


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
    "upstream listed, not seen yet": (runtime(upstream_awaited=True), flow(sync=report()), STAGING, False),
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


def test_telling_does_not_register_a_wait_for_the_upstream() -> None:
    rt = runtime(upstream_awaited=True)
    assert not flowevents.resumes_idle(rt, flow(sync=report()), STAGING, ENVIRONMENTS.get)
    # Only the resume handler registers to hear of the upstream's first event.
    assert rt.flows.observe("ns-dev", "login", None, head=UP_HEAD) == []
