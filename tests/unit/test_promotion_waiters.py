"""Bindings waiting for a Promotion: which Promotions are indexed as unfinished, and which
bindings a Promotion's event re-resolves (found by index, never a walk of the namespace)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowops.domain import fanout
from flowops.domain.bindingtarget import UnfinishedPromotion
from flowops.handlers import bindings as binding_handlers
from flowops.runtime import Runtime
from flowops.services import unfinishedpromotions
from flowops.services.promotionwaiters import ASKED_TTL, PromotionWaiters
from flowops.testing.fanouts import Reached, record_fan_outs
from flowops.testing.indexes import RecordingIndex as Index

NS = "ns-prod"
HASH = "sha256:" + "a" * 64


def promotion(name: str = "promote-login", phase: str | None = None, **spec: Any) -> dict[str, Any]:
    spec = {"source": {"environment": "staging", "flow": "login", "version": "3"}, **spec}
    return {"metadata": {"name": name, "namespace": NS}, "spec": spec, "status": {"phase": phase} if phase else {}}


@pytest.mark.parametrize(
    "body,entry",
    [
        (promotion(), {(NS, "login"): UnfinishedPromotion("promote-login", "")}),
        (promotion(phase="AwaitingApproval"), {(NS, "login"): UnfinishedPromotion("promote-login", "AwaitingApproval")}),
        (
            promotion(phase="Running", target={"flow": "login-v2"}),
            {(NS, "login-v2"): UnfinishedPromotion("promote-login", "Running")},
        ),
        # Memory: finished ones outnumber the rest by thousands and are never waited for.
        (promotion(phase="Succeeded"), {}),
        (promotion(phase="Failed"), {}),
        ({**promotion(), "metadata": {"name": "p", "namespace": NS, "deletionTimestamp": "2026-12-03T00:00:00Z"}}, {}),
        # Pinned by hash and promoted whole: the version it lands has that content.
        (
            promotion(source={"environment": "staging", "flow": "login", "version": HASH}),
            {(NS, "login"): UnfinishedPromotion("promote-login", "", HASH)},
        ),
        (
            promotion(source={"environment": "staging", "flow": "login", "version": HASH}, changes={"include": ["/ui"]}),
            {(NS, "login"): UnfinishedPromotion("promote-login", "", None)},
        ),
    ],
)
def test_only_unfinished_promotions_are_indexed_by_target_flow(body, entry):
    assert unfinishedpromotions.index_entry(body) == entry


class FakeKube:
    def __init__(self, promotions: list[dict[str, Any]]) -> None:
        self.promotions = promotions

    def list(self, resource: Any, namespace: str | None = None, **_: Any) -> list[dict[str, Any]]:
        return [p for p in self.promotions if p["metadata"]["namespace"] == namespace]


def test_without_the_index_the_namespace_is_listed():
    kube = FakeKube([promotion("a", "Running"), promotion("b", "Succeeded"), promotion("c", target={"flow": "signup"})])
    rt = Runtime(kube=kube)  # type: ignore[arg-type]
    assert unfinishedpromotions.into(rt, NS, "login") == [UnfinishedPromotion("a", "Running")]


def test_the_index_is_read_when_there_is_one():
    index = Index({(NS, "login"): [UnfinishedPromotion("a", "Running")]})
    rt = Runtime(kube=None, indexes={unfinishedpromotions.INDEX: index})  # type: ignore[arg-type]
    assert unfinishedpromotions.asked_by(rt, "ApiClient", "web", NS, "login") == [UnfinishedPromotion("a", "Running")]
    assert index.asked == [(NS, "login")]
    assert rt.bindings.promotion_waiters.recent(NS, "login") == [("ApiClient", "web")]


def test_bindings_that_asked_are_remembered_for_a_while():
    waiters, clock = PromotionWaiters(), [100.0]
    waiters.asked(NS, "login", "ApiClient", "web", now=lambda: clock[0])
    waiters.asked(NS, "signup", "ApiClient", "other", now=lambda: clock[0])
    assert waiters.recent(NS, "login", now=lambda: clock[0] + ASKED_TTL) == [("ApiClient", "web")]
    clock[0] += ASKED_TTL + 1
    waiters.asked(NS, "login", "Application", "shop", now=lambda: clock[0])
    assert waiters.recent(NS, "login", now=lambda: clock[0]) == [("Application", "shop")]
    assert waiters.recent(NS, "signup", now=lambda: clock[0]) == []


def test_only_a_changed_phase_counts():
    waiters = PromotionWaiters()
    assert waiters.phase_changed(NS, "p", "") is True
    assert waiters.phase_changed(NS, "p", "") is False  # a progress note
    assert waiters.phase_changed(NS, "p", "AwaitingApproval") is True
    assert waiters.phase_changed(NS, "p", None) is True  # finished
    assert waiters.phase_changed(NS, "p", None) is False
    assert waiters.phase_changed(NS, "history", None) is False  # never seen unfinished: listed at start-up


@pytest.mark.parametrize(
    "reason,unfinished,touched",
    [
        ("WaitingForPromotion", True, True),
        ("WaitingForPromotion", False, True),
        ("VersionNotFound", True, True),
        ("FlowNotFound", True, True),
        ("VersionNotFound", False, False),
        ("Resolved", True, False),
        ("HeadNotAllowed", True, False),
        (None, True, False),
    ],
)
def test_which_bindings_a_promotion_touches(reason, unfinished, touched):
    assert fanout.touched_by_promotion({"reason": reason}, unfinished) is touched


def client(name: str, reason: str) -> dict[str, Any]:
    status = {
        "requested": {"name": "login", "version": "4"},
        "conditions": [{"type": "Resolved", "status": "True" if reason == "Resolved" else "False", "reason": reason}],
    }
    return fanout.client_entry(name, status)


def application(name: str, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return fanout.application_entry(name, {"defaultFlow": {"name": "login", "version": "4"}}, {"conditions": conditions})


@pytest.fixture
def reached(monkeypatch: pytest.MonkeyPatch) -> Reached:
    return record_fan_outs(monkeypatch)


def event(kind: str | None, body: dict[str, Any], clients: Index, apps: Index | None = None) -> None:
    asyncio.run(
        binding_handlers.promotion_changed(
            type=kind,
            body=body,
            apiclients_by_flow=clients,
            applications_by_flow=apps if apps is not None else Index(),
            apiclients_by_application={},
            environments_by_namespace={},
        )
    )


CLIENTS = {
    (NS, "login"): [client("waiting", "WaitingForPromotion"), client("missing", "VersionNotFound"), client("fine", "Resolved")]
}


def test_a_new_promotion_reaches_the_clients_of_its_flow_that_miss_their_version(reached: Reached) -> None:
    clients = Index(CLIENTS)
    event("ADDED", promotion(), clients)
    assert reached.clients == ["waiting", "missing"]
    assert clients.asked == [(NS, "login")]


def test_progress_notes_of_an_unchanged_phase_reach_nobody(reached: Reached) -> None:
    event("ADDED", promotion(phase="Running"), Index(CLIENTS))
    event("MODIFIED", promotion(phase="Running"), Index(CLIENTS))
    assert reached.clients == ["waiting", "missing"]


def test_a_finished_promotion_reaches_only_the_clients_waiting(reached: Reached) -> None:
    event("ADDED", promotion(phase="AwaitingApproval"), Index(CLIENTS))
    reached.clients.clear()
    event("MODIFIED", promotion(phase="Failed"), Index(CLIENTS))
    assert reached.clients == ["waiting"]


def test_a_deleted_unfinished_promotion_reaches_the_clients_waiting(reached: Reached) -> None:
    event("ADDED", promotion(), Index(CLIENTS))
    reached.clients.clear()
    event("DELETED", promotion(phase="Running"), Index(CLIENTS))
    assert reached.clients == ["waiting"]


def test_the_history_listed_at_start_up_reaches_nobody(reached: Reached) -> None:
    """Clients resume on their own, with every index filled."""
    event(None, promotion(phase="Succeeded"), Index(CLIENTS))
    assert reached.clients == []


def test_a_client_that_asked_lately_is_reached_though_the_index_lacks_its_status(reached: Reached) -> None:
    reached.runtime.bindings.promotion_waiters.asked(NS, "login", "ApiClient", "late")
    reached.runtime.bindings.promotion_waiters.asked(NS, "signup", "ApiClient", "elsewhere")
    event("ADDED", promotion(), Index())
    assert reached.clients == ["late"]


def test_applications_waiting_without_ready_are_reached(reached: Reached) -> None:
    """One waiting for a Promotion awaiting approval has no Ready: Resolved says why."""
    waiting = [{"type": "Resolved", "status": "False", "reason": "WaitingForPromotion"}]
    apps = Index({(NS, "login"): [application("shop", waiting), application("blog", [])]})
    event("ADDED", promotion(), Index(), apps)
    event("MODIFIED", promotion(phase="Failed"), Index(), apps)
    assert reached.applications == ["shop", "shop"]
