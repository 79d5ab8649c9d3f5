"""State gauges on a replica Kopf pauses (peering) and after a re-list: a paused replica
says so and reports no state; entries of objects deleted while no watch ran are forgotten
by the sweep, never those an event spoke of after its list began."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import kopf
import pytest
from kopf._cogs.aiokits import aiotoggles
from kopf._core.reactor import orchestration
from yarl import URL

from flowops import metrics, metricshooks, metricsstate, pausing, runtime
from flowops.handlers import observe
from flowops.metricsstate import State, StateCollector
from flowops.services import statesweep

from .test_indexreadiness import run, settle

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
    assert not (state.environments or state.flows or state.clients or state.promotions or state.backlog or state.seen)
    assert metrics.environment_of("sb-prod") == "", "the namespace's environment is relearned on resuming"
    # Resumed: Kopf lists every kind again, and the state is what that listing says.
    state.set_paused(False)
    state.observe_environment(_env("prod", "sb-prod"), deleted=False, listing=True)
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    families = _families(state)
    assert families["flowops_active"] == [({}, 1.0)]
    assert [lb["flow"] for lb, _ in families["flowops_flow_info"]] == ["settled"]
    assert {lb["kind"]: v for lb, v in families["flowops_reconcile_backlog"]} == {"Flow": 0, "ApiClient": 0, "Promotion": 0}


def test_the_sweep_forgets_what_a_relist_no_longer_names() -> None:
    state = _filled()
    assert state.start_sweep() == [], "no listing seen: nothing to sweep"
    # A broken watch: Kopf lists again; "behind", the client and the promotion were deleted meanwhile.
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    kinds = state.start_sweep()
    assert kinds == ["Environment", "Flow", "ApiClient", "Promotion"]
    assert state.start_sweep() == [], "one sweep per re-list"
    started = time.monotonic()
    # Created after the sweep's list began: absent from it, yet kept.
    state.observe_flow(_flow("sb-prod", "new", generation=2), deleted=False)
    assert state.forget_absent("Environment", {("", "prod")}, started) == 0
    assert state.forget_absent("Flow", {("sb-prod", "settled")}, started) == 1
    assert state.forget_absent("ApiClient", set(), started) == 1
    assert state.forget_absent("Promotion", set(), started) == 1
    families = _families(state)
    assert sorted(lb["flow"] for lb, _ in families["flowops_flow_info"]) == ["new", "settled"]
    assert {lb["kind"]: v for lb, v in families["flowops_reconcile_backlog"]} == {"Flow": 1, "ApiClient": 0, "Promotion": 0}
    assert families["flowops_apiclients"] == [] and families["flowops_promotions_non_terminal"] == []
    assert families["flowops_promotions_awaiting_approval_oldest_seconds"] == []
    assert set(state.seen) == {("Environment", "", "prod"), ("Flow", "sb-prod", "settled"), ("Flow", "sb-prod", "new")}


def test_a_deleted_environment_is_swept_with_its_namespace() -> None:
    state = _filled()
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    state.start_sweep()
    assert state.forget_absent("Environment", set(), time.monotonic()) == 1
    assert metrics.environment_of("sb-prod") == ""
    assert _families(state)["flowops_environment_info"] == []


def test_a_failed_sweep_is_tried_again_and_a_paused_replica_sweeps_nothing() -> None:
    state = _filled()
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    assert state.start_sweep()
    state.sweep_failed()
    assert state.start_sweep()
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    state.set_paused(True)
    state.observe_flow(_flow("sb-prod", "late"), deleted=False, listing=True)  # an event that sneaked in
    assert state.start_sweep() == []


def test_finished_promotions_leave_nothing_to_sweep() -> None:
    state = State()
    state.observe_promotion(_promotion("sb", "done", phase="Succeeded"), deleted=False)
    assert state.seen == {}


# -- following Kopf's pauses --------------------------------------------------------------


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


# -- the sweep: what marks it due, what it lists -------------------------------------------


class FakeKube:
    def __init__(self, objects: dict[str, list[tuple[str, str]]], fail: bool = False) -> None:
        self.objects, self.fail = objects, fail
        self.lists: list[tuple[str, bool, int]] = []

    def iterate(self, resource: Any, namespace: str | None = None, metadata_only: bool = False, page_size: int = 500) -> Any:
        assert namespace is None, "cluster-wide"
        self.lists.append((resource.plural, metadata_only, page_size))
        if self.fail:
            raise ConnectionError("API server unreachable")
        for ns, name in self.objects.get(resource.plural, []):
            yield {"metadata": {"name": name, **({"namespace": ns} if ns else {})}}


def test_the_sweep_lists_metadata_in_pages_only_after_a_relist() -> None:
    state = _filled()
    kube = FakeKube({"environments": [("", "prod")], "flows": [("sb-prod", "settled")]})
    assert statesweep.sweep(kube, state, page_size=100) == 0  # type: ignore[arg-type]
    assert kube.lists == [], "no re-list, no request"
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    assert statesweep.sweep(kube, state, page_size=100) == 3  # type: ignore[arg-type]
    assert kube.lists == [(plural, True, 100) for plural in ("environments", "flows", "apiclients", "promotions")]
    assert set(state.flows) == {("sb-prod", "settled")} and not state.clients and not state.promotions
    assert not state.backlog
    kube.lists.clear()
    state.listed()  # an empty listing: Kopf lists, no event comes
    assert statesweep.sweep(kube, state, page_size=100) == 0  # type: ignore[arg-type]
    assert [plural for plural, _, _ in kube.lists] == ["environments", "flows"], "only kinds the state holds"


def test_a_failed_sweep_stays_due() -> None:
    state = _filled()
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    with pytest.raises(ConnectionError):
        statesweep.sweep(FakeKube({}, fail=True), state, page_size=100)  # type: ignore[arg-type]
    assert len(state.flows) == 2, "nothing forgotten on a failed list"
    assert statesweep.sweep(FakeKube({"flows": [("sb-prod", "settled")]}), state, page_size=100) == 4  # type: ignore[arg-type]


def test_kopfs_list_requests_mark_a_sweep_due_its_watches_do_not() -> None:
    [end] = metricshooks.kopf_trace().on_request_end

    def request(url: str) -> bool:
        metricsstate.state.relisted = False
        params = SimpleNamespace(method="GET", url=URL(url), response=SimpleNamespace(status=200))
        asyncio.run(end(None, SimpleNamespace(), params))
        return metricsstate.state.relisted

    try:
        assert request("https://api/apis/flowops.io/v1alpha1/promotions?limit=100")
        assert request("https://api/apis/flowops.io/v1alpha1/environments")
        assert not request("https://api/apis/flowops.io/v1alpha1/promotions?watch=true&resourceVersion=5")
        assert not request("https://api/apis/flowops.io/v1alpha1/namespaces/a/flows/b")
        assert not request("https://api/apis/flowops.io/v1alpha1/flowversions?limit=100")
    finally:
        metricsstate.state.relisted = False


def test_the_operator_sweeps_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    state = _filled()
    state.observe_flow(_flow("sb-prod", "settled"), deleted=False, listing=True)
    kube = FakeKube({"environments": [("", "prod")], "flows": [("sb-prod", "settled")]})
    monkeypatch.setattr(observe, "state", state)
    monkeypatch.setattr(runtime, "current", lambda: SimpleNamespace(kube=kube))
    settings = kopf.OperatorSettings()
    settings.watching.chunk_size = 77

    async def main() -> None:
        task = asyncio.create_task(observe.sweep_every(0.01, settings))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if kube.lists:
                break
        task.cancel()

    asyncio.run(main())
    assert kube.lists and kube.lists[0] == ("environments", True, 77)
    assert set(state.flows) == {("sb-prod", "settled")}


def test_kopfs_listing_events_mark_a_sweep_due_its_watch_events_do_not(monkeypatch: pytest.MonkeyPatch) -> None:
    state = State()
    monkeypatch.setattr(observe, "state", state)
    body = kopf.Body(_flow("sb", "f"))
    asyncio.run(observe.observe_flow(type="MODIFIED", body=body))
    asyncio.run(observe.observe_promotion(type="ADDED", body=kopf.Body(_promotion("sb", "p"))))
    assert not state.relisted and state.flows and state.promotions
    asyncio.run(observe.observe_flow(type=None, body=body))  # type: ignore[arg-type]
    assert state.relisted
    asyncio.run(observe.observe_flow(type="DELETED", body=body))
    assert not state.flows and ("Flow", "sb", "f") not in state.seen
