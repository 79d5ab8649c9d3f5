"""An Environment's flow counts have one writer in the operator. Its own reconcile once
wrote counts taken when it began, over the newer ones a Flow event had written meanwhile;
the Environment then showed 0 flows beside its one flow until some later Flow event."""

from __future__ import annotations

import asyncio

from flowops.domain import policy
from flowops.runtime import Runtime
from flowops.services import environmentreconcile, environments, guardrailcache

NAMESPACE = "ns-dev"


class StatusKube:
    """The API as an Environment's reconcile uses it: its namespace, its one flow, and status writes."""

    def __init__(self) -> None:
        self.statuses: list[dict] = []

    def get_or_none(self, resource, name, namespace=None):
        return {"metadata": {"name": name}}

    def iterate(self, resource, namespace=None, **_):
        return iter([{"metadata": {"name": "login"}}])

    def patch_status(self, resource, name, status, namespace=None, resource_version=None):
        self.statuses.append(status)

    def json_patch(self, resource, name, ops, namespace=None, subresource=None, metadata_only=False):
        assert {"op": "test", "path": "/metadata/uid", "value": "u-1"} in ops
        self.statuses.append({op["path"].removeprefix("/status/"): op["value"] for op in ops if op["op"] == "add"})


def environment(status: dict) -> dict:
    """Its flows judged by its rules already: the reconcile has no flow to re-evaluate."""
    env = {
        "metadata": {"name": "dev", "uid": "u-1", "generation": 1, "creationTimestamp": "2026-12-02T14:16:04Z"},
        "spec": {"namespace": NAMESPACE, "tier": "Development"},
    }
    return {**env, "status": {**status, "guardrailsDigest": guardrailcache.compiled(policy.guardrails_of(env)).digest}}


def test_the_reconcile_writes_no_counts_of_its_own():
    kube = StatusKube()
    environments.reconcile(Runtime(kube=kube), environment({"flows": 0, "outOfSync": 0}), lambda n: None, lambda *a: None)  # type: ignore[arg-type]
    assert kube.statuses, "a new Environment's status is written"
    assert all("flows" not in s and "outOfSync" not in s for s in kube.statuses)


def test_the_counts_are_offered_after_the_reconcile_as_the_flows_show_them_then():
    kube = StatusKube()
    rt = Runtime(kube=kube)  # type: ignore[arg-type]
    rt.flows.observe(NAMESPACE, "login", None, head="login-00001")  # its event came during the reconcile

    async def run() -> None:
        await environmentreconcile.reconcile(
            rt, environment({"flows": 0, "outOfSync": 0}), lambda n: None, lambda *a: None, lambda ns: None
        )
        while rt.counts._drains:  # the publisher's write, in the event loop
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert kube.statuses[-1] == {"flows": 1, "outOfSync": 0}
    assert "flows" not in kube.statuses[0]


def test_counts_the_environment_shows_already_are_not_written_again():
    kube = StatusKube()
    rt = Runtime(kube=kube)  # type: ignore[arg-type]
    rt.flows.observe(NAMESPACE, "login", None, head="login-00001")
    current = environment({"flows": 1, "outOfSync": 0})

    async def run() -> None:
        await environmentreconcile.reconcile(rt, current, lambda n: None, lambda *a: None, lambda ns: None)
        await asyncio.sleep(0)

    asyncio.run(run())
    assert all("flows" not in s for s in kube.statuses), "a restart writes no counts that are true already"
