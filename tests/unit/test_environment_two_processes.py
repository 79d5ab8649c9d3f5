"""An Environment's status is written only over the status it was decided from: a
process acting on an older event (another replica, lagging) must not put back an older
observedGeneration; status changes run no handler, so nothing would correct it."""

from __future__ import annotations

import copy
from typing import Any

from flowops.kube import ENVIRONMENTS, Conflict
from flowops.runtime import Runtime
from flowops.services import environments


class Cluster:
    """One Environment, its namespace, and status writes checked against its resourceVersion."""

    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env
        self.written: list[tuple[str, dict[str, Any]]] = []
        self.refused: list[str | None] = []

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        return copy.deepcopy(self.env) if resource is ENVIRONMENTS else {"metadata": {"name": name}}

    def iterate(self, resource: Any, namespace: str | None = None, **_: Any) -> list[dict[str, Any]]:
        return []  # no flows to judge

    def patch_status(self, resource: Any, name: str, status: dict, namespace: str | None = None, resource_version=None) -> None:
        stored = self.env["metadata"]["resourceVersion"]
        if resource_version != stored:
            self.refused.append(resource_version)
            raise Conflict(409, "Conflict", "the object has been modified")
        self.written.append((stored, status))
        self.env["status"] = {**(self.env.get("status") or {}), **status}
        self.env["metadata"]["resourceVersion"] = str(int(stored) + 1)


def at_generation(generation: int, protected: bool, resource_version: str) -> dict[str, Any]:
    meta = {"name": "prod", "generation": generation, "resourceVersion": resource_version}
    return {"metadata": meta, "spec": {"namespace": "ns-prod", "tier": "Staging", "protected": protected}, "status": {}}


def reconcile(kube: Cluster, env: dict[str, Any]) -> None:
    environments.reconcile(Runtime(kube=kube), env, lambda n: None, lambda *a: None)  # type: ignore[arg-type]


def test_a_decision_from_an_older_event_never_puts_back_an_older_generation() -> None:
    older = at_generation(1, protected=False, resource_version="5")
    cluster = Cluster(at_generation(2, protected=True, resource_version="8"))
    reconcile(cluster, copy.deepcopy(cluster.env))  # the up-to-date process
    assert cluster.env["status"]["observedGeneration"] == 2 and cluster.env["status"]["protected"] is True

    reconcile(cluster, older)  # the lagging one, acting on generation 1's event
    assert cluster.refused == ["5"]
    assert [s["observedGeneration"] for _, s in cluster.written] == [2], "decided again from generation 2: nothing new"
    assert cluster.env["status"]["observedGeneration"] == 2 and cluster.env["status"]["protected"] is True


def test_new_rules_are_announced_once_when_the_first_status_write_is_refused() -> None:
    """Another writer changed the Environment between the event and the status write: the
    rules are recorded by the second attempt, and GuardrailsChanged is told once, not
    once per attempt."""
    event = at_generation(2, protected=True, resource_version="5")
    event["spec"]["policy"] = {"guardrails": [{"name": "titled", "expression": "has(content.title)", "message": "add /title"}]}
    event["status"] = {"guardrailsDigest": "sha256:older-rules", "observedGeneration": 1}
    stored = copy.deepcopy(event)
    stored["metadata"]["resourceVersion"] = "6"  # e.g. its flow counts, written meanwhile
    cluster = Cluster(stored)
    told: list[tuple[str, str]] = []
    environments.reconcile(
        Runtime(kube=cluster),  # type: ignore[arg-type]
        event,
        lambda n: None,
        lambda body, type_, reason, message: told.append((reason, message)),
    )
    assert cluster.refused == ["5"] and len(cluster.written) == 1
    assert cluster.env["status"]["guardrailsDigest"] != "sha256:older-rules"
    assert [reason for reason, _ in told] == ["GuardrailsChanged"], told
