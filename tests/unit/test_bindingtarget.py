import pytest

from flowops.domain.bindingtarget import Problem, check_selector, choose_version, flow_missing, is_head_selector
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
