"""Serving a version other than HEAD or what is held needs an approver where review is required."""

from __future__ import annotations

import pytest

from flowops.domain.commit import VersionRecord
from flowops.domain.pinreview import PinWriter, approval_problem

V41 = VersionRecord("login-00041", "v41", 41, "h41", ready=True)
PROMOTER = PinWriter("ApiClient", "web", "bob-promoter", may_approve=False)


def decide(**changes):
    args = dict(
        review=True,
        environment="production",
        flow="login",
        chosen=V41,
        holds="v42",
        head="v42",
        writers=[PROMOTER],
        gitops_approvers=["system:serviceaccount:flux-system:applier"],
    )
    return approval_problem(**{**args, **changes})


def test_a_promoter_rolling_a_client_back_is_refused_naming_who_and_the_way():
    problem = decide()
    assert problem is not None and problem.reason == "ApprovalRequired" and problem.stalled
    assert "flow login version 41 (v41) is not what this client serves nor the flow's HEAD (HEAD is v42)" in problem.message
    assert "bob-promoter, who set it on ApiClient web, may not approve Promotions here" in problem.message
    assert "roll back with a reviewed Promotion" in problem.message


@pytest.mark.parametrize(
    "changes",
    [
        {"review": False},
        {"holds": "v41"},  # already served: re-resolved for another reason
        {"head": "v41", "holds": None},  # the newest promotion, for a new client
        {"writers": [PinWriter("Application", "web", "dave-approver", may_approve=True)]},
        {"writers": [PinWriter("ApiClient", "web", "system:serviceaccount:flux-system:applier", may_approve=False)]},
    ],
)
def test_what_needs_no_approver(changes):
    assert decide(**changes) is None


def test_moving_a_client_to_another_flows_head_is_refused_naming_both_flows():
    """HEAD is no exemption across flows: a promoter would otherwise point a production
    sign-in client at any flow there, unreviewed for that client."""
    problem = decide(flow="signup", head="v41", holds=None, serves_other_flow="login")
    assert problem is not None and problem.reason == "ApprovalRequired" and problem.stalled
    assert "this client serves flow login, and moving it to flow signup (version 41, v41) changes what it serves" in (
        problem.message
    )
    assert "bob-promoter, who set it on ApiClient web, may not approve Promotions here" in problem.message
    assert "Ask an approver to set the flow" in problem.message


@pytest.mark.parametrize(
    "changes",
    [
        {"writers": [PinWriter("ApiClient", "web", "dave-approver", may_approve=True)]},
        {"writers": [PinWriter("ApiClient", "web", "system:serviceaccount:flux-system:applier", may_approve=False)]},
        {"serves_other_flow": None, "holds": None},  # serves nothing yet: a new client may follow HEAD
        {"review": False},
    ],
)
def test_who_may_move_a_client_to_another_flows_head(changes):
    base = {"flow": "signup", "head": "v41", "holds": None, "serves_other_flow": "login"}
    assert decide(**{**base, **changes}) is None


def test_an_unrecorded_writer_is_not_taken_for_an_approver():
    problem = decide(writers=[PinWriter("ApiClient", "web", None, may_approve=False)], holds=None)
    assert problem is not None and "its last writer (not recorded)" in problem.message


def test_every_spec_the_resolution_took_from_must_have_an_approvers_hand():
    """An approver's Application pins version 41; a promoter points the client at that
    Application's pin of another flow: the promoter is named."""
    approver_app = PinWriter("Application", "web", "dave-approver", may_approve=True)
    problem = decide(writers=[approver_app, PinWriter("ApiClient", "web-1", "bob-promoter", may_approve=False)])
    assert problem is not None and "bob-promoter, who set it on ApiClient web-1" in problem.message


@pytest.mark.parametrize(
    ("groups", "refused"),
    [
        (("flowops:approvers", "system:authenticated"), True),  # may approve, outside the reserved groups
        (None, True),  # groups not recorded (stamped before they were): not taken for in them
        (("flowops:sre",), False),
    ],
)
def test_where_approvals_are_reserved_to_groups_the_writer_must_be_in_one(groups, refused):
    writer = PinWriter("ApiClient", "web", "dave-approver", may_approve=True, groups=groups)
    problem = decide(writers=[writer], approver_groups=["flowops:sre"])
    assert (problem is not None) is refused
    if problem is not None:
        assert "dave-approver, who set it on ApiClient web, may not approve Promotions here" in problem.message
        assert "reserved to the groups flowops:sre, spec.policy.promotion.approverGroups" in problem.message


def test_the_gitops_sync_needs_no_group():
    sync = PinWriter("ApiClient", "web", "system:serviceaccount:flux-system:applier", may_approve=False, groups=())
    assert decide(writers=[sync], approver_groups=["flowops:sre"]) is None


@pytest.mark.parametrize(
    ("recorded", "groups"),
    [
        ('["a,flowops:sre","flowops:approvers"]', ("a,flowops:sre", "flowops:approvers")),  # a comma is part of a name
        ("[]", ()),
        (None, None),  # stamped before groups were recorded
        ('["\\a"]', None),  # CEL quotes some characters beyond JSON: not taken for any group
        ('{"flowops:sre": true}', None),
    ],
)
def test_the_recorded_groups_are_read_whole_or_not_at_all(recorded, groups):
    from flowops.services.bindings_clients import _groups

    assert _groups(recorded) == groups
