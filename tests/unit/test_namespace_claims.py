"""Rival Environments on one namespace: the oldest governs, whatever order the operator saw
them in (so a restart cannot switch which policy applies); the other is told why it is ignored."""

from __future__ import annotations

import pytest

from flowops.runtime import Runtime
from flowops.services import environments
from flowops.services.environmentlookup import seniority


def env(name: str, created: str) -> dict:
    return {"metadata": {"name": name, "creationTimestamp": created}, "spec": {"namespace": "shared"}}


FIRST, LATER, SAME_SECOND = (
    env("zeta", "2026-11-30T02:00:00Z"),
    env("alpha", "2026-11-30T02:00:05Z"),
    env("beta", "2026-11-30T02:00:00Z"),
)


@pytest.mark.parametrize("seen", [[FIRST, LATER], [LATER, FIRST], [LATER, SAME_SECOND, FIRST], [FIRST, SAME_SECOND]])
def test_the_oldest_then_the_first_by_name_governs_in_any_order(seen):
    expected = "beta" if SAME_SECOND in seen else "zeta"
    assert min(seen, key=seniority)["metadata"]["name"] == expected


@pytest.mark.parametrize(
    ("name", "owner", "problem"),
    [
        ("zeta", FIRST, None),
        ("zeta", None, None),
        ("alpha", FIRST, "namespace shared already belongs to Environment zeta (created first): this Environment is ignored"),
    ],
)
def test_claim_problem(name, owner, problem):
    found = environments.namespace_claim_problem(name, "shared", owner)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))


class StatusKube:
    """Just what an Environment's reconcile asks of the API: its namespace, and its status write."""

    def __init__(self) -> None:
        self.statuses: list[dict] = []

    def get_or_none(self, resource, name, namespace=None):
        return {"metadata": {"name": name}}

    def patch_status(self, resource, name, status, namespace=None, resource_version=None):
        self.statuses.append(status)


def test_an_ignored_environment_records_no_rules_its_flows_were_not_judged_by():
    """Else, once it comes to govern the namespace, its rules would look applied already and
    its flows would never be judged by them."""
    kube = StatusKube()
    rival = {
        **LATER,
        "spec": {
            "namespace": "shared",
            "policy": {"guardrails": [{"name": "t", "expression": "has(content.t)", "message": "m"}]},
        },
    }
    environments.reconcile(Runtime(kube=kube), rival, lambda n: None, lambda *a: None, namespace_owner=lambda ns: FIRST)  # type: ignore[arg-type]
    assert kube.statuses and kube.statuses[-1]["guardrailsDigest"] is None
    assert any("already belongs to Environment zeta" in c.get("message", "") for c in kube.statuses[-1]["conditions"])
