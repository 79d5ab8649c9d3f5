"""A guardrail change re-evaluates every flow; a failing flow neither stops the others nor
makes a retry start over."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.runtime import Runtime
from flowops.services import environments, flows
from flowops.services.common import RetryLater

ENV = {"metadata": {"name": "dev"}, "spec": {"namespace": "ns-dev"}}


class Kube:
    def __init__(self, names: list[str]) -> None:
        self.items = [{"metadata": {"name": n, "namespace": "ns-dev"}} for n in names]

    def iterate(self, resource: Any, namespace: str, page_size: int = 50) -> list[dict]:
        return list(self.items)


def test_one_failing_flow_does_not_stop_the_others_and_the_retry_redoes_only_it(monkeypatch) -> None:
    names = [f"flow-{n}" for n in range(20)]
    calls: list[str] = []
    broken = {"flow-7"}

    def reconcile(rt, flow, env, post):
        calls.append(flow["metadata"]["name"])
        if flow["metadata"]["name"] in broken:
            raise RuntimeError("API server unavailable")

    monkeypatch.setattr(flows, "reconcile", reconcile)
    events: list[tuple[str, str]] = []
    post = lambda body, type_, reason, message: events.append((reason, message))  # noqa: E731
    rt = Runtime(kube=Kube(names))  # type: ignore[arg-type]
    with pytest.raises(environments.ReevaluationIncomplete) as incomplete:
        environments.reevaluate_flows(rt, ENV, "digest-2", post)
    assert sorted(calls) == sorted(names), "every flow was tried"
    assert "flow-7" in str(incomplete.value) and "1 of 20" in str(incomplete.value)
    assert events and events[-1][0] == "ReevaluationIncomplete"

    calls.clear()
    broken.clear()
    assert environments.reevaluate_flows(rt, ENV, "digest-2", post) == 20
    assert calls == ["flow-7"], "the retry goes on where it stopped"

    calls.clear()
    environments.reevaluate_flows(rt, ENV, "digest-3", post)
    assert sorted(calls) == sorted(names), "new rules: every flow again"


def test_a_flow_another_writer_moves_while_judged_is_judged_again_as_it_is_now(monkeypatch) -> None:
    """Its own commit wrote its status meanwhile: read again and judged again, the pass
    completes without a Warning; a flow deleted meanwhile is done; one that keeps moving
    is reported unfinished."""
    judged: list[tuple[str, int]] = []
    moves = {"busy": 1, "restless": 99}

    def reconcile(rt, flow, env, post):
        name = flow["metadata"]["name"]
        judged.append((name, flow["metadata"].get("generation", 1)))
        if moves.get(name, 0) > 0:
            moves[name] -= 1
            raise RetryLater(f"Flow ns-dev/{name} changed since it was read; deciding its status again")

    class Reading(Kube):
        def get_or_none(self, resource: Any, name: str, namespace: str) -> dict | None:
            return None if name == "gone" else {"metadata": {"name": name, "namespace": namespace, "generation": 2}}

    monkeypatch.setattr(flows, "reconcile", reconcile)
    events: list[str] = []
    post = lambda body, type_, reason, message: events.append(reason)  # noqa: E731
    rt = Runtime(kube=Reading(["calm", "busy"]))  # type: ignore[arg-type]
    assert environments.reevaluate_flows(rt, ENV, "digest-4", post) == 2
    assert sorted(judged) == [("busy", 1), ("busy", 2), ("calm", 1)], "busy judged again as read now"
    assert events == []

    moves["gone"] = 1
    judged.clear()
    assert environments.reevaluate_flows(Runtime(kube=Reading(["gone"])), ENV, "digest-5", post) == 1  # type: ignore[arg-type]
    assert judged == [("gone", 1)]

    with pytest.raises(environments.ReevaluationIncomplete, match="restless"):
        environments.reevaluate_flows(Runtime(kube=Reading(["restless"])), ENV, "digest-6", post)  # type: ignore[arg-type]
    assert events == ["ReevaluationIncomplete"]
