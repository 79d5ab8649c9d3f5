"""Rival Environments on one namespace: the oldest governs, whatever order the operator saw
them in (so a restart cannot switch which policy applies); the other is told why it is ignored."""

from __future__ import annotations

import pytest

from flowops.services.environmentlookup import seniority
from flowops.services.environments import namespace_claim_problem


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
    found = namespace_claim_problem(name, "shared", owner)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))
