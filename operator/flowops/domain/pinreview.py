"""Whether a binding may serve the version it names without an approver (pure).

Where an environment requires review, every version it serves was approved when it was
promoted; which of them a client serves is a production change too. Moving to the HEAD
(the newest promotion) of the flow a client serves, or keeping what it serves, needs
nothing more, and a new client may start on any flow's HEAD; any other
version (a rollback, an older version for a new client), and any version of another flow
than the one a client serves (a sign-in client moved to a sign-up flow's HEAD), is served
only when whoever last wrote the binding's spec could approve Promotions there, as the
API server recorded at that write (and was in one of the environment's approver groups,
where it names them), or is the GitOps sync (its merge was the review).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import policy
from .bindingtarget import Problem
from .commit import VersionRecord


@dataclass(frozen=True)
class PinWriter:
    """Who last wrote a spec that names the flow or the version (ApiClient or Application)."""

    kind: str
    name: str
    username: str | None
    may_approve: bool
    groups: tuple[str, ...] | None = None  # as recorded at that write; None: not recorded


def _approves(writer: PinWriter, approver_groups: Sequence[str] | None, gitops_approvers: Sequence[str]) -> bool:
    if writer.username in gitops_approvers:
        return True
    if not writer.may_approve:
        return False
    return policy.in_approver_groups(approver_groups, writer.groups)


def approval_problem(
    *,
    review: bool,
    environment: str,
    flow: str,
    chosen: VersionRecord,
    holds: str | None,
    head: str | None,
    writers: Sequence[PinWriter],
    gitops_approvers: Sequence[str],
    approver_groups: Sequence[str] | None = None,
    serves_other_flow: str | None = None,
) -> Problem | None:
    """`holds`: the version of `flow` the client serves, if any; `serves_other_flow`: the
    flow it serves when that is not `flow` (HEAD is then no exemption). `writers`: of each
    spec the resolution took the flow's name or the version from; every one must have been
    able to approve (a promoter could otherwise make an approver's pin name another flow's
    old version)."""
    exempt = (holds,) if serves_other_flow else (holds, head)
    if not review or chosen.id in exempt:
        return None
    writer = next((w for w in writers if not _approves(w, approver_groups, gitops_approvers)), None)
    if writer is None:
        return None
    who = writer.username or "its last writer (not recorded)"
    head_note = f"HEAD is {head}" if head else "the flow has no HEAD"
    groups_note = (
        f" (approvals here are reserved to the groups {', '.join(approver_groups)}, spec.policy.promotion.approverGroups)"
        if approver_groups is not None and writer.may_approve
        else ""
    )
    if serves_other_flow:
        return Problem(
            "ApprovalRequired",
            f"environment {environment} requires review: this client serves flow {serves_other_flow}, and moving it to "
            f"flow {flow} (version {chosen.number}, {chosen.id}) changes what it serves; {who}, who set it on "
            f"{writer.kind} {writer.name}, may not approve Promotions here{groups_note}. Ask an approver to set the flow",
        )
    return Problem(
        "ApprovalRequired",
        f"environment {environment} requires review: flow {flow} version {chosen.number} ({chosen.id}) is not what "
        f"this client serves nor the flow's HEAD ({head_note}), and {who}, who set it on {writer.kind} {writer.name}, "
        f"may not approve Promotions here{groups_note}. Ask an approver to set the version, or roll back with a "
        "reviewed Promotion",
    )
