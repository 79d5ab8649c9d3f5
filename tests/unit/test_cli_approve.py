"""`kubectl flowops approve` approves exactly the Promotion whose plan it showed."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from flowops.cli.commands.promote import run_approve
from flowops.cli.environments import Environment
from flowops.cli.errors import UserError
from flowops.kube import Conflict

AWAITING = {
    "metadata": {"name": "release-7", "namespace": "prod", "resourceVersion": "41"},
    "spec": {"source": {"environment": "staging", "flow": "login", "version": "3"}, "review": True},
    "status": {"phase": "AwaitingApproval", "plan": {"total": 1, "changes": []}},
}


class FakeKube:
    def __init__(self, changed: bool = False) -> None:
        self.changed = changed
        self.patches: list[dict[str, Any]] = []

    def get(self, resource: Any, name: str, namespace: str) -> dict[str, Any]:
        return AWAITING

    def merge_patch(self, resource: Any, name: str, patch: dict[str, Any], namespace: str) -> dict[str, Any]:
        if self.changed:  # what the API server answers a stale resourceVersion
            raise Conflict(409, "Conflict", "the object has been modified")
        self.patches.append(patch)
        return AWAITING


class FakeOutput:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def progress(self, line: str) -> None:
        self.lines.append(line)

    note = progress


class FakeSession:
    def __init__(self, kube: FakeKube) -> None:
        self.kube, self.output = kube, FakeOutput()

    def current_environment(self) -> Environment:
        return Environment("production", "prod", "Production", review_required=True)


def args() -> argparse.Namespace:
    return argparse.Namespace(promotion="release-7", wait=False, timeout=10)


def test_the_approval_carries_the_shown_promotions_resource_version():
    kube = FakeKube()
    assert run_approve(FakeSession(kube), args()) == 0  # type: ignore[arg-type]
    assert kube.patches == [{"metadata": {"resourceVersion": "41"}, "spec": {"approved": True}}]


def test_a_promotion_changed_since_it_was_shown_is_not_approved():
    with pytest.raises(UserError) as refused:
        run_approve(FakeSession(FakeKube(changed=True)), args())  # type: ignore[arg-type]
    assert "changed after its plan was shown, and was not approved" in str(refused.value)
    assert "kubectl flowops approve release-7 -n production again" in (refused.value.hint or "")
