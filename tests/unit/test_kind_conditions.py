"""Condition sets of Promotion, Environment, ApiClient and Application, state by state."""

import pytest

from flowops.domain import bindingstatus, conditions, environmentstatus, promotionstatus
from flowops.domain.binding import resolve_request
from flowops.domain.bindingtarget import Problem
from flowops.domain.materialise import Fingerprint

NOW, LATER = "2026-11-21T09:30:12Z", "2026-11-21T10:00:00Z"


def summary(conds):
    """(Ready status, Ready reason, Reconciling?, Stalled?) — what kstatus and Argo CD read."""
    ready = conditions.find(conds, "Ready") or {}
    return (
        ready.get("status"),
        ready.get("reason"),
        conditions.find(conds, "Reconciling") is not None,
        conditions.find(conds, "Stalled") is not None,
    )


@pytest.mark.parametrize(
    "phase, reason, expected",
    [
        ("Pending", None, ("Unknown", "Pending", True, False)),
        ("Running", None, ("Unknown", "Running", True, False)),
        # no Ready, not Reconciling, not Stalled: kstatus Current (Ready=False would be InProgress),
        # so a Flux Kustomization holding it is not held up
        ("AwaitingApproval", None, (None, None, False, False)),
        ("Succeeded", "", ("True", "Succeeded", False, False)),
        ("Failed", "GuardrailsFailed", ("False", "GuardrailsFailed", False, True)),
        ("Failed", None, ("False", "Failed", False, True)),
    ],
)
def test_promotion_phases(phase, reason, expected):
    conds = promotionstatus.promotion_conditions(phase, "msg", 1, None, NOW, reason)
    assert summary(conds) == expected
    assert (conditions.find(conds, "Ready") or conditions.find(conds, "Approved"))["message"] == "msg"


def test_promotion_moves_on_from_awaiting_approval_without_leftovers():
    waiting = promotionstatus.promotion_conditions("AwaitingApproval", "approve with spec.approved", 1, None, NOW)
    assert conditions.find(waiting, "Approved")["status"] == "False" and conditions.find(waiting, "Ready") is None
    running = promotionstatus.promotion_conditions("Running", "writing", 2, waiting, LATER)
    done = promotionstatus.promotion_conditions("Succeeded", "version 3", 2, running, LATER)
    assert {c["type"] for c in running} == {"Ready", "Reconciling"}
    assert {c["type"] for c in done} == {"Ready"}


def test_unknown_phase_is_refused():
    with pytest.raises(ValueError):
        promotionstatus.promotion_conditions("Done", "", 1, None, NOW)


@pytest.mark.parametrize(
    "valid, problems, expected, guardrails",
    [
        (True, [], ("True", "Ready", False, False), "True"),
        (False, ["invalid guardrails: r: syntax"], ("False", "InvalidSpec", False, True), "False"),
        (True, ["upstream chain has a cycle: a -> b -> a"], ("False", "InvalidSpec", False, True), "True"),
    ],
)
def test_environment(valid, problems, expected, guardrails):
    conds = environmentstatus.environment_conditions(4, valid, problems[0] if problems else "", problems, None, NOW)
    assert summary(conds) == expected
    assert conditions.find(conds, "GuardrailsValid")["status"] == guardrails
    if problems:
        assert conditions.find(conds, "Stalled")["message"] == "; ".join(problems)


def test_an_environment_waiting_for_its_namespace_is_in_progress_not_failed():
    """GitOps may apply the namespace later in the same sync: Flux must not fail it fast."""
    waiting = ["namespace ns-prod does not exist: waiting for it to be created"]
    conds = environmentstatus.environment_conditions(4, True, "", [], None, NOW, waiting)
    assert summary(conds) == ("False", "Waiting", True, False)
    assert conditions.find(conds, "Reconciling")["message"] == waiting[0]
    # A fault as well: Stalled says the fault, the wait is told once it is fixed.
    stalled = environmentstatus.environment_conditions(4, True, "", ["spec.upstream makes a cycle"], None, NOW, waiting)
    assert summary(stalled) == ("False", "InvalidSpec", False, True)


HELD = Fingerprint("login", "20261121093012000002", 2, "sha256:2", "RestartInProgress")


@pytest.mark.parametrize(
    "problem, held, expected",
    [
        (None, HELD, ("True", "Resolved", False, False)),
        (Problem("FlowNotFound", "flow logn does not exist"), HELD, ("False", "FlowNotFound", False, True)),
        (Problem("NoReadyVersion", "no version yet", stalled=False), None, ("False", "NoReadyVersion", True, False)),
    ],
)
def test_apiclient(problem, held, expected):
    facts = bindingstatus.ClientFacts(
        generation=2,
        request=resolve_request({"application": "web"}, {"defaultFlow": {"name": "login"}}),
        materialised=held,
        config_map="c-flow",
        follows_head=problem is None,
        problem=problem,
    )
    conds = bindingstatus.client_status(facts, None, NOW)["conditions"]
    assert summary(conds) == expected
    assert conditions.find(conds, "Resolved")["status"] == ("True" if problem is None else "False")


def test_apiclient_fixed_binding_clears_stalled():
    def facts(problem):
        return bindingstatus.ClientFacts(
            generation=2,
            request=resolve_request({}, {"defaultFlow": {"name": "login"}}),
            materialised=HELD,
            config_map="c-flow",
            follows_head=problem is None,
            problem=problem,
        )

    broken = bindingstatus.client_status(facts(Problem("FlowNotFound", "x")), None, NOW)
    fixed = bindingstatus.client_status(facts(None), broken, LATER)
    assert {c["type"] for c in fixed["conditions"]} == {"Ready", "Resolved"}


@pytest.mark.parametrize(
    "problem, expected",
    [
        (None, ("True", "Resolved", False, False)),
        (Problem("HeadNotAllowed", "pin a version"), ("False", "HeadNotAllowed", False, True)),
        (Problem("NoReadyVersion", "wait", stalled=False), ("False", "NoReadyVersion", True, False)),
    ],
)
def test_application(problem, expected):
    conds = bindingstatus.application_status(1, 0, problem, "default flow login", None, NOW)["conditions"]
    assert summary(conds) == expected


def test_every_kind_declares_its_set():
    sets = [promotionstatus.PROMOTION, environmentstatus.ENVIRONMENT, bindingstatus.APICLIENT, bindingstatus.APPLICATION]
    assert [s.kind for s in sets] == ["Promotion", "Environment", "ApiClient", "Application"]
    assert all({"Ready", "Reconciling", "Stalled"} <= s.owned for s in sets)
