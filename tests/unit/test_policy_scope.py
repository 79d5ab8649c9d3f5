"""A policy whose parameters are a custom resource refuses every request it matches while a
restarted API server has not yet discovered that kind (kubernetes#124237: up to 30 s after
some restarts, measured with `python -m bench --only apiserver`). Such a policy must not
refuse what the rest of the cluster writes: it matches only flowops' own kinds, or
objects in the namespaces labelled as an Environment's, or it is ignored when it cannot
be evaluated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

POLICIES = Path(__file__).resolve().parents[2] / "manifests" / "policy"
ENVIRONMENT_NAMESPACES = {"key": "flowops.io/environment", "operator": "Exists"}
OTHER_NAMESPACES = {"key": "flowops.io/environment", "operator": "DoesNotExist"}


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
    name, failure = policy["metadata"]["name"], policy["spec"]["failurePolicy"]
    if not outside_flowops(policy):
        return
    if OTHER_NAMESPACES in namespace_expressions(policy):
        assert failure == "Ignore", f"{name} refuses every unlabelled namespace's objects while it cannot be evaluated"
        return
    assert ENVIRONMENT_NAMESPACES in namespace_expressions(policy), (
        f"{name} matches {', '.join(outside_flowops(policy))} in every namespace: limit it to namespaces labelled "
        "flowops.io/environment, or take its decision without parameters"
    )
    assert failure == "Fail", f"{name} must hold in flowops' namespaces while it cannot be evaluated"


def namespace_expressions(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return (policy["spec"]["matchConstraints"].get("namespaceSelector") or {}).get("matchExpressions") or []


def test_a_protected_namespace_is_kept_everywhere_and_closed_where_the_operator_works() -> None:
    """Namespace deletion is checked in every namespace, by one rule in two policies: closed
    in the labelled ones while it cannot be evaluated, open elsewhere."""
    policies = {p["metadata"]["name"]: p for p in with_parameters()}
    labelled = policies["flowops-protected-namespace-deletion"]
    others = policies["flowops-protected-namespace-deletion-unlabelled"]
    assert (labelled["spec"]["failurePolicy"], others["spec"]["failurePolicy"]) == ("Fail", "Ignore")
    assert namespace_expressions(labelled) == [ENVIRONMENT_NAMESPACES]
    assert namespace_expressions(others) == [OTHER_NAMESPACES]
    assert labelled["spec"]["validations"] == others["spec"]["validations"]
    assert labelled["spec"]["matchConstraints"]["resourceRules"] == others["spec"]["matchConstraints"]["resourceRules"]
