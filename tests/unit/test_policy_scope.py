"""A policy whose parameters are a custom resource refuses every request it matches while a
restarted API server has not yet discovered that kind (kubernetes#124237: up to 30 s after
some restarts, measured with `python -m bench --only apiserver`). Such a policy must not
match what the rest of the cluster writes: only flowops' own kinds, or objects in the
namespaces labelled as an Environment's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

POLICIES = Path(__file__).resolve().parents[2] / "manifests" / "policy"
ENVIRONMENT_NAMESPACES = {"key": "flowops.io/environment", "operator": "Exists"}
# Refused for that window on purpose: deleting a namespace is rare, and scoping it by the
# label would let an unlabelled protected environment's namespace, flows and all, be deleted.
CLUSTER_WIDE = {"flowops-protected-namespace-deletion"}


def with_parameters() -> list[dict[str, Any]]:
    found = []
    for path in sorted(POLICIES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document["kind"].endswith("AdmissionPolicy") and document["spec"].get("paramKind"):
                found.append(document)
    return found


def outside_flowops(policy: dict[str, Any]) -> list[str]:
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    return [
        f"{group or 'core'}/{resource}"
        for r in rules
        for group in r["apiGroups"]
        for resource in r["resources"]
        if group != "flowops.io"
    ]


def test_the_policies_with_parameters_are_found() -> None:
    assert {"flowops-operator-configmaps", "flowops-protected-configmaps", "flowops-protected-flows"} <= {
        p["metadata"]["name"] for p in with_parameters()
    }


@pytest.mark.parametrize("policy", with_parameters(), ids=lambda p: p["metadata"]["name"])
def test_a_policy_with_parameters_matches_only_flowops_objects(policy: dict[str, Any]) -> None:
    name = policy["metadata"]["name"]
    if not outside_flowops(policy) or name in CLUSTER_WIDE:
        return
    selector = policy["spec"]["matchConstraints"].get("namespaceSelector") or {}
    assert ENVIRONMENT_NAMESPACES in (selector.get("matchExpressions") or []), (
        f"{name} matches {', '.join(outside_flowops(policy))} in every namespace: limit it to namespaces labelled "
        "flowops.io/environment, or take its decision without parameters"
    )
