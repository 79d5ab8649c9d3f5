import pytest

from flowops.domain.bindingtarget import (
    Problem,
    UnfinishedPromotion,
    awaiting_promotion,
    check_selector,
    choose_version,
    flow_missing,
    is_head_selector,
)
from flowops.domain.commit import VersionRecord
from flowops.domain.versionid import Selector

IDS = ["20261121093012000001", "20261121093012000002", "20261121093012000003"]


def record(number, ready=True, origin="Commit", guardrails=""):
    return VersionRecord(
        name=f"login-{IDS[number - 1]}",
        id=IDS[number - 1],
        number=number,
        content_hash=f"sha256:{number}",
        ready=ready,
        origin=origin,
        guardrails=guardrails,
    )


RECORDS = [record(1), record(2), record(3, ready=False, guardrails="need-title: add a title")]


def choose(text, records=RECORDS, head=IDS[1]):
    selector = check_selector(text, allow_head=True, environment="dev")
    assert not isinstance(selector, Problem)
    return choose_version("login", selector, records, head)


def test_head_is_the_flows_latest_ready_version():
    assert choose("HEAD").number == 2
    assert choose("latest").number == 2


def test_number_and_id_select_their_version():
    assert choose("1").id == IDS[0]
    assert choose(IDS[0]).number == 1


def test_missing_versions_name_the_flow_and_what_it_has():
    problem = choose("9")
    assert problem == Problem("VersionNotFound", "flow login has no version 9; it has 1..3")
    problem = choose("20261121093012999999")
    assert problem.reason == "VersionNotFound" and problem.message.startswith("flow login has no version with id")


def test_a_version_that_failed_guardrails_is_refused_even_when_pinned():
    problem = choose("3")
    assert problem.reason == "VersionNotReady"
    assert "failed guardrails: need-title: add a title" in problem.message
    assert f"HEAD is {IDS[1]}" in problem.message


def test_quarantined_edits_are_never_served():
    problem = choose("1", records=[record(1, ready=False, origin="Quarantine")], head=None)
    assert problem.reason == "VersionNotReady" and "reverted direct edit" in problem.message


def test_no_head_yet_is_progress_not_failure():
    problem = choose("HEAD", records=[], head=None)
    assert problem.reason == "NoReadyVersion" and problem.stalled is False
    problem = choose("HEAD", records=[record(3, ready=False)], head=None)
    assert problem.reason == "NoReadyVersion" and problem.stalled is True


def test_head_refused_where_policy_forbids_it():
    problem = check_selector("HEAD", allow_head=False, environment="production")
    assert isinstance(problem, Problem) and problem.reason == "HeadNotAllowed"
    assert "pin a version id or number" in problem.message
    assert check_selector("2", allow_head=False, environment="production") == Selector("number", 2)


@pytest.mark.parametrize("text", ["uncommitted", "0", "v2", ""])
def test_unusable_selectors(text):
    problem = check_selector(text, allow_head=True, environment="dev")
    assert isinstance(problem, Problem) and problem.reason == "InvalidVersion"


def test_flow_missing_message_says_what_to_check():
    problem = flow_missing("ns", "logn")
    assert problem.reason == "FlowNotFound"
    assert "flow logn does not exist in namespace ns" in problem.message and "spec.defaultFlow.name" in problem.message


@pytest.mark.parametrize("text,head", [("HEAD", True), ("latest", True), ("3", False), (None, False), ("bogus", False)])
def test_is_head_selector(text, head):
    assert is_head_selector(text) is head


def test_a_content_hash_pins_the_version_holding_that_content():
    pinned = [VersionRecord(name=f"login-{IDS[0]}", id=IDS[0], number=1, content_hash="sha256:" + "a" * 64, ready=True)]
    assert choose("sha256:" + "a" * 64, pinned, IDS[0]).id == IDS[0]
    assert choose("sha256:" + "b" * 64, pinned, IDS[0]).reason == "VersionNotFound"


# -- a missing flow or version that an unfinished Promotion may bring ---------------------

HASH_A, HASH_B = "sha256:" + "a" * 64, "sha256:" + "b" * 64
LATER_ID = "20261121093013000000"  # after every id in RECORDS


def waiting(text, promotions, records=RECORDS, missing=None):
    """The problem choose_version (or flow_missing, with records None) reports, after the
    unfinished Promotions were asked about."""
    selector = check_selector(text, allow_head=True, environment="prod")
    assert not isinstance(selector, Problem)
    problem = missing or (
        flow_missing("prod", "login") if records is None else choose_version("login", selector, records, IDS[1])
    )
    assert isinstance(problem, Problem)
    return awaiting_promotion(problem, "login", selector, records, promotions)


RUNNING = UnfinishedPromotion("promote-login", "Running")
REVIEWED = UnfinishedPromotion("promote-login", "AwaitingApproval")


@pytest.mark.parametrize(
    "text,records,promotions,waits",
    [
        # The flow itself is missing: any Promotion into it may create it.
        ("4", None, [RUNNING], True),
        (LATER_ID, None, [REVIEWED], True),
        ("4", None, [], False),
        # The next number(s): one per unfinished Promotion.
        ("4", RECORDS, [RUNNING], True),
        ("5", RECORDS, [RUNNING], False),
        ("5", RECORDS, [RUNNING, UnfinishedPromotion("promote-again", "Pending")], True),
        ("1", [record(2), record(3)], [RUNNING], False),  # removed by retention: never comes back
        ("1", [], [RUNNING], True),  # the flow exists without a version yet
        # An id after the newest may be the one landed; one before it never is.
        (LATER_ID, RECORDS, [RUNNING], True),
        ("20261121093012000000", RECORDS, [RUNNING], False),
        # A content hash comes only from a Promotion of that content (or of content not fixed in its spec).
        (HASH_A, RECORDS, [UnfinishedPromotion("p", "Running", HASH_A)], True),
        (HASH_A, RECORDS, [UnfinishedPromotion("p", "Running", HASH_B)], False),
        (HASH_A, None, [UnfinishedPromotion("p", "Running", HASH_B)], False),
        (HASH_A, RECORDS, [UnfinishedPromotion("p", "Running")], True),
        # No Promotion under way: a person must fix it.
        ("4", RECORDS, [], False),
    ],
)
def test_a_missing_version_waits_only_for_a_promotion_that_may_bring_it(text, records, promotions, waits):
    problem = waiting(text, promotions, records)
    assert (problem.reason == "WaitingForPromotion") is waits
    assert problem.stalled is not waits
    if not waits:
        assert problem.reason in ("FlowNotFound", "VersionNotFound")  # the original problem, message and all


@pytest.mark.parametrize(
    "phase,said,suspended",
    [
        ("", "it has not started yet", False),
        ("Pending", "it is Pending", False),
        ("Running", "it is Running", False),
        ("AwaitingApproval", "it is AwaitingApproval", True),
    ],
)
def test_waiting_names_the_promotion_and_its_phase(phase, said, suspended):
    problem = waiting("4", [UnfinishedPromotion("promote-login", phase)])
    assert problem.message.startswith(f"waiting for Promotion promote-login to land flow login ({said})")
    assert problem.message.endswith("flow login has no version 4; it has 1..3")
    assert problem.stalled is False and problem.suspended is suspended


def test_a_missing_flow_waits_naming_the_flow():
    problem = waiting("4", [REVIEWED], records=None)
    assert problem == Problem(
        "WaitingForPromotion",
        "waiting for Promotion promote-login to land flow login (it is AwaitingApproval) "
        "(approve it: spec.approved: true): flow login does not exist yet",
        stalled=False,
        suspended=True,
    )


def test_one_promotion_under_way_is_named_before_those_awaiting_approval():
    promotions = [UnfinishedPromotion("a-reviewed", "AwaitingApproval"), UnfinishedPromotion("b-running", "Running")]
    problem = waiting("4", promotions)
    assert problem.message.startswith("waiting for Promotion b-running and 1 more to land flow login (it is Running)")
    assert problem.suspended is False  # work is under way: Reconciling


@pytest.mark.parametrize(
    "other",
    [
        Problem("VersionNotReady", "failed guardrails"),
        Problem("HeadNotAllowed", "pin a version"),
        Problem("InvalidVersion", "bad"),
        Problem("NoReadyVersion", "no version yet", stalled=False),
    ],
)
def test_only_a_missing_flow_or_version_waits(other):
    assert waiting("4", [RUNNING], missing=other) is other
