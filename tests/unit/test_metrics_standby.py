"""State gauges on a replica Kopf pauses (peering): a paused replica says so, reports no
state and forgets it; it is rebuilt from Kopf's listing on resuming."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kopf._cogs.aiokits import aiotoggles
from kopf._core.reactor import orchestration

from flowops import metrics, pausing
from flowops.metricsstate import State, StateCollector

STATE_GAUGES = {
    "flowops_environment_info",
    "flowops_flows",
    "flowops_apiclients",
    "flowops_promotions_non_terminal",
    "flowops_promotions_awaiting_approval_oldest_seconds",
    "flowops_reconcile_backlog",
    "flowops_reconcile_backlog_oldest_seconds",
    "flowops_flow_info",
    "flowops_flow_info_omitted",
}


def _flow(ns: str, name: str, generation: int = 1, observed: int = 1) -> dict[str, Any]:
    status = {"observedGeneration": observed, "sync": {"state": "OutOfSync"}, "conditions": [{"type": "Ready", "status": "True"}]}
    return {"metadata": {"namespace": ns, "name": name, "generation": generation}, "status": status}


def _promotion(ns: str, name: str, phase: str = "AwaitingApproval") -> dict[str, Any]:
    meta = {"namespace": ns, "name": name, "generation": 1, "creationTimestamp": "2020-01-01T00:00:00Z"}
    return {"metadata": meta, "status": {"phase": phase, "observedGeneration": 1}}


def _env(name: str, ns: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"namespace": ns, "tier": "Production"}}


def _families(state: State) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {family.name: [(s.labels, s.value) for s in family.samples] for family in StateCollector(state).collect()}


def _filled() -> State:
    state = State()
    state.observe_environment(_env("prod", "sb-prod"), deleted=False)
    state.observe_flow(_flow("sb-prod", "behind", generation=2), deleted=False)
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False)
    state.observe_client({"metadata": {"namespace": "sb-prod", "name": "c"}}, deleted=False)
    state.observe_promotion(_promotion("sb-prod", "waits"), deleted=False)
    return state


def test_an_active_replica_says_so_and_reports_state() -> None:
    families = _families(_filled())
    assert families["flowops_active"] == [({}, 1.0)]
    assert STATE_GAUGES <= families.keys()
    assert len(families["flowops_flow_info"]) == 2


def test_a_paused_replica_says_so_reports_no_state_and_forgets_it() -> None:
    state = _filled()
    assert metrics.environment_of("sb-prod") == "prod"
    state.set_paused(True)
    assert _families(state) == {"flowops_active": [({}, 0.0)]}
    assert not (state.environments or state.flows or state.clients or state.promotions or state.backlog)
    assert metrics.environment_of("sb-prod") == "", "the namespace's environment is relearned on resuming"
    # Resumed: Kopf lists every kind again, and the state is what that listing says.
    state.set_paused(False)
    state.observe_environment(_env("prod", "sb-prod"), deleted=False)
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False)
    families = _families(state)
    assert families["flowops_active"] == [({}, 1.0)]
    assert [lb["flow"] for lb, _ in families["flowops_flow_info"]] == ["settled"]
    assert {lb["kind"]: v for lb, v in families["flowops_reconcile_backlog"]} == {"Flow": 0, "ApiClient": 0, "Promotion": 0}


# -- following Kopf's pauses --------------------------------------------------------------


def run(test):  # type: ignore[no-untyped-def]
    return lambda: asyncio.run(test())


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@run
async def test_follow_reports_the_start_and_every_change() -> None:
    paused = aiotoggles.ToggleSet(any)
    peering = await paused.make_toggle(True, name="peering")
    seen: list[bool] = []
    follower = asyncio.create_task(pausing.follow(paused, seen.append))
    await settle()
    assert seen == [True]
    await peering.turn_to(False)
    await settle()
    await peering.turn_to(True)
    await settle()
    assert seen == [True, False, True]
    follower.cancel()


def test_the_orchestrator_reports_pauses_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    async def orchestrator(*, operator_paused: aiotoggles.ToggleSet, **_: Any) -> None:
        await settle()
        toggle = await operator_paused.make_toggle(True, name="peering")
        await settle()
        await toggle.turn_to(False)
        await settle()

    monkeypatch.setattr(orchestration, "orchestrator", orchestrator)
    assert pausing.install(seen.append)
    assert pausing.install(seen.append), "installing twice wraps once"

    async def main() -> None:
        await orchestration.orchestrator(operator_paused=aiotoggles.ToggleSet(any), processor=None)

    asyncio.run(main())
    assert seen == [False, True, False]


def test_kopfs_own_orchestrator_is_handed_the_pause_toggles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orchestration, "orchestrator", orchestration.orchestrator)
    assert pausing.install(lambda paused: None)
    assert getattr(orchestration.orchestrator, "_follows_pauses", False)
