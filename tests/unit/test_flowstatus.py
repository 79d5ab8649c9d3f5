"""Flow status per state: what Ready, Stalled and Guardrails say (kstatus reads Stalled)."""

import pytest

from flowops.domain import conditions, flowstatus
from flowops.domain.commit import VersionRecord

NOW, LATER = "2026-11-21T09:30:12Z", "2026-11-21T10:00:00Z"


def version(number, ready=True, origin="Commit", digest=None):
    return VersionRecord(
        name=f"f-{number}",
        id=f"2026112100000000000{number}",
        number=number,
        content_hash=digest or f"sha256:{number}",
        ready=ready,
        origin=origin,
        guardrails="",
    )


def facts(**overrides):
    base = dict(
        generation=5,
        content_hash="sha256:2",
        document_bytes=10,
        uncommitted=False,
        guardrails_ok=True,
        guardrails_message="all rules pass",
    )
    return flowstatus.FlowFacts(**{**base, **overrides})


OK2 = [version(1), version(2)]
FAILED2 = [version(1), version(2, ready=False)]

# versions, facts, Ready, reason, Stalled, Guardrails
CASES = [
    ("up to date", OK2, facts(), "True", "UpToDate", None, "True"),
    ("uncommitted", OK2, facts(uncommitted=True), "True", "UncommittedChanges", None, "True"),
    ("no version yet", [], facts(guardrails_ok=None), "False", "NoVersion", None, None),
    (
        "guardrails failed",
        FAILED2,
        facts(guardrails_ok=False, guardrails_message="rule r broken"),
        "False",
        "GuardrailsFailed",
        "True",
        "False",
    ),
    ("first version failed", [version(1, ready=False)], facts(guardrails_ok=False), "False", "GuardrailsFailed", "True", "False"),
    (
        "too large",
        OK2,
        facts(problem="document is 3 MiB", problem_reason="DocumentTooLarge"),
        "False",
        "DocumentTooLarge",
        "True",
        "True",
    ),
    ("not evaluated yet", [version(1, ready=None)], facts(guardrails_ok=None), "False", "NoReadyVersion", None, None),
]


@pytest.mark.parametrize("name, versions, fact, ready, reason, stalled, guardrails", CASES, ids=[c[0] for c in CASES])
def test_flow_conditions(name, versions, fact, ready, reason, stalled, guardrails):
    status = flowstatus.compute(versions, fact, None, NOW)
    conds = status["conditions"]
    got = conditions.find(conds, "Ready")
    assert (got["status"], got["reason"]) == (ready, reason)
    assert (conditions.find(conds, "Stalled") or {}).get("status") == stalled
    assert (conditions.find(conds, "Guardrails") or {}).get("status") == guardrails
    assert conditions.find(conds, "Reconciling") is None
    assert all(c["observedGeneration"] == 5 for c in conds)
    assert status["observedGeneration"] == 5


def test_guardrails_failure_names_the_rule_and_the_kept_head():
    status = flowstatus.compute(FAILED2, facts(guardrails_ok=False, guardrails_message="rule password-kept: /forms/0"), None, NOW)
    stalled = conditions.find(status["conditions"], "Stalled")
    assert stalled["reason"] == "GuardrailsFailed"
    assert "version 2 failed guardrails; HEAD stays at version 1" in stalled["message"]
    assert "rule password-kept: /forms/0" in stalled["message"]


def test_head_and_counts():
    status = flowstatus.compute(FAILED2, facts(guardrails_ok=False), None, NOW)
    assert (status["latestCreatedNumber"], status["latestReadyNumber"], status["versionCount"]) == (2, 1, 2)


def test_a_fix_clears_stalled_and_a_restore_clears_tampered():
    broken = flowstatus.compute(FAILED2, facts(guardrails_ok=False), None, NOW)
    tampered = {"type": "Tampered", "status": "True", "reason": "DirectEditReverted", "message": "m", "lastTransitionTime": NOW}
    previous = {**broken, "conditions": [*broken["conditions"], tampered]}
    fixed = flowstatus.compute([*FAILED2, version(3)], facts(content_hash="sha256:3"), previous, LATER)
    assert {c["type"] for c in fixed["conditions"]} == {"Ready", "Guardrails"}


def test_no_environment_note_reaches_ready_in_every_state():
    for versions, fact in ((OK2, facts()), (FAILED2, facts(guardrails_ok=False)), ([], facts(guardrails_ok=None))):
        fact = flowstatus.FlowFacts(**{**fact.__dict__, "environment_note": f"{flowstatus.NO_ENVIRONMENT_NOTE} dev"})
        ready = conditions.find(flowstatus.compute(versions, fact, None, NOW)["conditions"], "Ready")
        assert flowstatus.NO_ENVIRONMENT_NOTE in ready["message"]


def test_the_flow_condition_set():
    assert flowstatus.FLOW.dependents == ("Guardrails",)
    assert "Tampered" in flowstatus.FLOW.owned and "Stalled" in flowstatus.FLOW.owned


@pytest.mark.parametrize(
    "status, settled",
    [
        ({}, True),
        ({"observedGeneration": 0}, False),  # the CRD default before the operator observed it
    ],
)
def test_settled_needs_the_generation_observed(status, settled):
    flow = {
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "contentHash": "h",
            "uncommitted": False,
            "latestCreatedVersion": "v",
            "versionCount": 1,
            "conditions": [{"type": "Ready", "status": "True", "message": "HEAD"}],
            **status,
        },
    }
    assert flowstatus.settled(flow, 10, True) is settled
