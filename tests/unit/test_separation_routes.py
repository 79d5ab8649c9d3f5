"""The rights by which requester and approver could be one person are listed twice: in
domain/separation.py (the operator's SubjectAccessReviews) and in the admission policies'
CEL authorizer checks (manifests/policy/promotions.yaml, which cannot import Python). A route
added to one only would let admission and the operator disagree; these tests keep them the
same, and the policies within the API server's cost limits."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from flowops.domain import separation

REPO = Path(__file__).resolve().parents[2]
POLICIES = ("flowops-promotion-rules", "flowops-promotion-separation")
CHECK = re.compile(
    r"authorizer(?P<as>\.serviceAccount\([^)]*\))?\.group\('(?P<group>[^']*)'\)\.resource\('(?P<resource>[^']*)'\)"
    r"(?:\.subresource\('(?P<sub>[^']*)'\))?(?:\.namespace\((?P<ns>[^)]*)\))?(?P<name>\.name\([^)]*\))?\.check\('(?P<verb>[^']*)'\)"
)
# The API server's (k8s.io/apiserver): per expression, per policy and parameter, and one check's cost.
PER_EXPRESSION, PER_POLICY, CHECK_COST = 1_000_000, 10_000_000, 350_000


def _policies() -> dict[str, dict]:
    documents = yaml.safe_load_all((REPO / "manifests" / "policy" / "promotions.yaml").read_text())
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == "ValidatingAdmissionPolicy"}


def _checks(policy: dict) -> list[re.Match[str]]:
    return [m for v in policy["spec"]["validations"] for m in CHECK.finditer(v["expression"])]


def _key(route: separation.Route) -> tuple[str, str, str, str, bool]:
    return (route.verb, route.group, route.resource, route.subresource, route.named)


def _found(match: re.Match[str]) -> tuple[str, str, str, str, bool]:
    return (match["verb"], match["group"], match["resource"], match["sub"] or "", bool(match["name"]))


def test_admission_asks_every_route_by_which_an_approver_acts_as_a_service_account():
    policies = _policies()
    asked = [_found(m) for name in POLICIES for m in _checks(policies[name]) if m["ns"] == "variables.requesterAccount[0]"]
    assert sorted(asked) == sorted(_key(r) for r in separation.SERVICE_ACCOUNT_ROUTES)
    # Each refusal says what the route lets one do, in the operator's words.
    routes = {_key(r): r for r in separation.SERVICE_ACCOUNT_ROUTES}
    for name in POLICIES:
        for validation in policies[name]["spec"]["validations"]:
            for match in CHECK.finditer(validation["expression"]):
                if match["ns"] == "variables.requesterAccount[0]":
                    assert f"({routes[_found(match)].how}" in validation["messageExpression"], validation
    # The workload routes: every kind that makes pods, created or changed.
    workloads = {(m["group"], m["resource"], m["verb"]) for m in _checks(policies["flowops-promotion-separation"])}
    assert workloads == {(g, r, v) for g, r in separation.POD_CREATORS for v in separation.WORKLOAD_VERBS}


def test_admission_asks_impersonation_of_a_person_both_ways():
    checks = [m for name in POLICIES for m in _checks(_policies()[name]) if m["resource"] in ("users", "serviceaccounts")]
    by_approver = {_found(m) for m in checks if not m["as"] and m["resource"] == "users"}
    assert by_approver == {_key(r) for r in separation.IMPERSONATE_USER}
    # The requester's rights are asked only of a ServiceAccount (CEL's authorizer asks as no one else).
    by_requester = {_found(m) for m in checks if m["as"]}
    assert by_requester == {_key(r) for r in separation.IMPERSONATE_USER + separation.IMPERSONATE_SERVICE_ACCOUNT}


def test_the_operator_asks_the_same_routes_in_order_and_not_of_one_name():
    account = "system:serviceaccount:ci:release-bot"
    asked = separation.questions(account, "dave")
    assert [q.route for q in asked] == [*separation.SERVICE_ACCOUNT_ROUTES, *separation.IMPERSONATE_USER]
    assert asked[0].attributes() == {
        "verb": "impersonate",
        "group": "",
        "resource": "serviceaccounts",
        "namespace": "ci",
        "name": "release-bot",
    }
    assert {q.asker for q in asked[-2:]} == {"requester"} and asked[-1].attributes()["name"] == "dave"
    person = separation.questions("alice", "system:serviceaccount:ops:approver-bot")
    assert [(q.asker, q.words()) for q in person] == [
        ("approver", "impersonate users/alice"),
        ("approver", "impersonate:user-info users/alice"),
        ("requester", "impersonate serviceaccounts/approver-bot in namespace ops"),
        ("requester", "impersonate:serviceaccount serviceaccounts/approver-bot in namespace ops"),
    ]
    assert separation.questions("alice", "alice") == [] and separation.questions("", "dave") == []


def test_the_policies_stay_within_the_api_servers_cost_limits():
    """Each authorizer check costs 350000: two per expression, about 28 per policy and
    parameter (all asked when the approver holds no route, the common case). Over the limit,
    every approval fails (failurePolicy: Fail)."""
    for name, policy in _policies().items():
        for validation in policy["spec"]["validations"]:
            assert len(CHECK.findall(validation["expression"])) * CHECK_COST <= PER_EXPRESSION, (name, validation)
        # Counting every check (some never run together): with room for the rest of the CEL.
        assert len(_checks(policy)) * CHECK_COST <= 0.9 * PER_POLICY, name


def test_the_separation_policy_reads_its_variables_as_the_rules_do():
    policies = _policies()
    rules, own = ({v["name"]: v["expression"] for v in policies[n]["spec"]["variables"]} for n in POLICIES)
    assert own and all(rules[name] == expression for name, expression in own.items()), set(own) - set(rules)
