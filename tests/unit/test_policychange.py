"""What an Environment's spec change loosens: each rule named, tightenings and unrelated
changes silent."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.domain.policychange import loosened

PROD: dict[str, Any] = {"namespace": "ns-prod", "tier": "Production", "upstream": "staging"}
FLUX = "system:serviceaccount:flux-system:flowops-applier"


def prod(**promotion: Any) -> dict[str, Any]:
    return {**PROD, "policy": {"promotion": promotion}} if promotion else dict(PROD)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (prod(), prod(), []),
        (prod(), {**PROD, "values": {"baseUrl": "https://x"}}, []),  # values are not policy
        (prod(requireReview=False), prod(), []),  # tightened
        (prod(), prod(requireReview=False), ["spec.policy.promotion.requireReview true → false"]),
        (prod(), prod(separationOfDuties=False), ["spec.policy.promotion.separationOfDuties true → false"]),
        (prod(), prod(allowHeadSource=True), ["spec.policy.promotion.allowHeadSource false → true"]),
        (prod(), prod(allowedSources=["staging", "dev"]), ["promotions now accepted from dev"]),
        (prod(approverGroups=["sre"]), prod(), ["approvals reserved to sre now open to anyone with the approve permission"]),
        (prod(approverGroups=["sre"]), prod(approverGroups=["sre", "dev"]), ["approvals reserved to sre now open to dev, sre"]),
        (prod(), prod(approverGroups=["sre"]), []),  # narrowed
        (prod(), prod(gitopsApprovers=[FLUX]), [f"GitOps approvers added: {FLUX}"]),
        (
            {**PROD, "freeze": {"reason": "holiday"}},
            PROD,
            ["the freeze was lifted"],
        ),
        (
            {**PROD, "policy": {"guardrails": [{"name": "a", "expression": "true"}, {"name": "b", "expression": "true"}]}},
            {**PROD, "policy": {"guardrails": [{"name": "a", "expression": "false"}]}},
            ["guardrails removed: b", "guardrails changed: a"],
        ),
        (PROD, {**PROD, "upstream": "dev"}, ["promotions now accepted from dev", "spec.upstream staging → dev"]),
    ],
)
def test_each_loosened_rule_is_named(old, new, expected):
    assert loosened("prod", old, new) == expected


def test_turning_protection_off_names_everything_it_loosens():
    found = loosened("prod", {**PROD, "tier": "Staging"}, {**PROD, "tier": "Staging", "protected": False})
    assert found[:4] == [
        "spec.protected true → false",
        "spec.policy.promotion.requireReview true → false",
        "spec.policy.promotion.separationOfDuties true → false",
        "spec.policy.promotion.allowHeadSource false → true",
    ]
    assert "ApiClients may now follow HEAD" in found
