"""A guardrail change re-evaluates every flow; a failing flow neither stops the others nor
makes a retry start over."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.runtime import Runtime
from flowops.services import environments, flows

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
