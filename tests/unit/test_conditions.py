"""The condition-set API every kind uses: Ready derived, abnormal-true pair, stale types removed."""

import pytest

from flowops.domain import conditions
from flowops.domain.conditions import ConditionSet

NOW, LATER = "2026-11-21T09:30:12Z", "2026-11-21T10:00:00Z"
KIND = ConditionSet("Thing", dependents=("Built", "Checked"), informational=("Noted",))


def types(conds):
    return {c["type"]: c["status"] for c in conds}


@pytest.mark.parametrize(
    "marking, ready, reason",
    [
        (lambda m: m.true("Built", "Ok").true("Checked", "Ok").ready("AllGood", "fine"), "True", "AllGood"),
        (lambda m: m.true("Built", "Ok"), "True", "Ready"),  # unmarked dependents are not reported
        (lambda m: m.true("Built", "Ok").false("Checked", "Broken", "rule x"), "False", "Broken"),
        (lambda m: m.unknown("Built", "Waiting").true("Checked", "Ok"), "Unknown", "Waiting"),
        (lambda m: m.false("Built", "First").false("Checked", "Second"), "False", "First"),  # declared order
        (lambda m: m.true("Built", "Ok").stalled("TooLarge", "split it"), "False", "TooLarge"),
        (lambda m: m.false("Built", "Broken").stalled("TooLarge", "split it"), "False", "TooLarge"),
        (lambda m: m.reconciling("Working", "busy"), "Unknown", "Working"),
        (lambda m: m.true("Built", "Ok").not_ready("NoVersion", "nothing yet"), "False", "NoVersion"),
        (lambda m: m.true("Noted", "Seen").ready("Ok"), "True", "Ok"),  # informational types never decide Ready
    ],
)
def test_ready_is_derived_from_the_marks(marking, ready, reason):
    result = conditions.find(marking(KIND.marks(3)).conditions(None, NOW), "Ready")
    assert (result["status"], result["reason"], result["observedGeneration"]) == (ready, reason, 3)


def test_suspended_leaves_ready_out_unless_something_else_decides():
    waiting = KIND.marks(1).suspended("Checked", "AwaitingApproval", "approve it").conditions(None, NOW)
    assert types(waiting) == {"Checked": "False"}
    stalled = KIND.marks(1).suspended("Checked", "AwaitingApproval", "x").stalled("Broken", "y").conditions(None, NOW)
    assert types(stalled) == {"Checked": "False", "Stalled": "True", "Ready": "False"}
    # Ready from an earlier phase is removed while waiting
    moved = (
        KIND.marks(2)
        .suspended("Checked", "AwaitingApproval", "x")
        .conditions(KIND.marks(1).reconciling("R", "m").conditions(None, NOW), LATER)
    )
    assert types(moved) == {"Checked": "False"}


def test_stalled_message_is_ready_message():
    conds = KIND.marks(1).stalled("GuardrailsFailed", "rule r failed at /a").conditions(None, NOW)
    assert conditions.find(conds, "Ready")["message"] == "rule r failed at /a"
    assert conditions.find(conds, "Stalled")["status"] == "True"


@pytest.mark.parametrize(
    "before, marking, after",
    [
        # a condition that stops being marked is removed, Stalled and Reconciling included
        (
            {"Built": "True", "Stalled": "True", "Ready": "False"},
            lambda m: m.true("Built", "Ok"),
            {"Built": "True", "Ready": "True"},
        ),
        ({"Noted": "True", "Ready": "True"}, lambda m: m, {"Ready": "True"}),
        ({"Reconciling": "True", "Ready": "Unknown"}, lambda m: m.true("Checked", "Ok"), {"Checked": "True", "Ready": "True"}),
        # types this kind does not manage (an older operator's) are removed too
        ({"Legacy": "True", "Ready": "True"}, lambda m: m, {"Ready": "True"}),
    ],
)
def test_stale_conditions_are_removed(before, marking, after):
    existing = [{"type": t, "status": s, "reason": "R", "message": "", "lastTransitionTime": NOW} for t, s in before.items()]
    assert types(marking(KIND.marks(2)).conditions(existing, LATER)) == after


def test_marking_a_type_the_kind_does_not_manage_is_an_error():
    with pytest.raises(ValueError, match="Thing does not manage condition Tampered"):
        KIND.marks(1).true("Tampered", "x")


def test_transition_time_kept_while_status_holds():
    first = KIND.marks(1).true("Built", "Ok").conditions(None, NOW)
    again = KIND.marks(2).true("Built", "StillOk").conditions(first, LATER)
    assert conditions.find(again, "Built")["lastTransitionTime"] == NOW
    assert conditions.find(again, "Built")["observedGeneration"] == 2
    broken = KIND.marks(3).false("Built", "Broken").conditions(again, LATER)
    assert conditions.find(broken, "Built")["lastTransitionTime"] == LATER
    assert conditions.find(broken, "Ready")["lastTransitionTime"] == LATER


@pytest.mark.parametrize(
    "existing, desired, drop, expected",
    [
        ([], [("Ready", "True")], (), {"Ready": NOW}),
        ([("Ready", "True", "T0")], [("Ready", "True")], (), {"Ready": "T0"}),
        ([("Ready", "False", "T0")], [("Ready", "True")], (), {"Ready": NOW}),
        ([("Other", "True", "T0")], [("Ready", "True")], (), {"Ready": NOW, "Other": "T0"}),  # kept unless dropped
        ([("Stalled", "True", "T0")], [("Ready", "True")], ("Stalled",), {"Ready": NOW}),
    ],
)
def test_merge_keeps_transition_time_and_drops_what_it_is_told(existing, desired, drop, expected):
    before = [{"type": t, "status": s, "lastTransitionTime": at} for t, s, at in existing]
    wanted = [conditions.condition(t, s, "R") for t, s in desired]
    merged = conditions.merge(before, wanted, NOW, drop=drop)
    assert {c["type"]: c["lastTransitionTime"] for c in merged} == expected
    assert [c["type"] for c in merged] == sorted(expected)


def test_same_ignores_transition_times_only():
    one = [conditions.condition("Ready", True, "Ok", "m", 1) | {"lastTransitionTime": NOW}]
    two = [conditions.condition("Ready", True, "Ok", "m", 1) | {"lastTransitionTime": LATER}]
    assert conditions.same(one, two)
    assert not conditions.same(one, [conditions.condition("Ready", True, "Ok", "other", 1)])
