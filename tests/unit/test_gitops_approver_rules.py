"""Who may stand for a reviewed pull request is written four times: the Environment CRD
(what may be stored), the admission policy and the mutating policy (what an approval by
such an identity does while the operator is down) and domain/policy.py (the operator's own
check). An identity added to or dropped from one copy only would let admission and the
operator disagree; these tests keep the copies the same."""

from __future__ import annotations

from pathlib import Path

import yaml

from flowops.domain import policy

REPO = Path(__file__).resolve().parents[2]
CONTROLLERS = policy.CONTROLLER_PREFIX + "(" + "|".join(policy.GITOPS_CONTROLLERS) + ")"
SERVICE_ACCOUNT = policy.SERVICE_ACCOUNT.pattern


def _crd_rules() -> list[str]:
    crd = yaml.safe_load((REPO / "crds" / "environment.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    approvers = schema["properties"]["spec"]["properties"]["policy"]["properties"]["promotion"]["properties"]["gitopsApprovers"]
    return [rule["rule"] for rule in approvers["items"]["x-kubernetes-validations"]]


def _policy_filters() -> dict[str, str]:
    documents = list(yaml.safe_load_all((REPO / "manifests" / "policy" / "promotions.yaml").read_text()))
    return {
        doc["metadata"]["name"]: next(v["expression"] for v in doc["spec"]["variables"] if v["name"] == "gitopsApprovers")
        for doc in documents
        if doc["kind"] in ("ValidatingAdmissionPolicy", "MutatingAdmissionPolicy")
        and any(v["name"] == "gitopsApprovers" for v in doc["spec"].get("variables", []))
    }


def test_the_crd_refuses_what_the_operator_refuses():
    rules = _crd_rules()
    assert any(f"^{SERVICE_ACCOUNT}$" in rule for rule in rules), rules
    assert any(f":{CONTROLLERS}$" in rule and rule.strip().startswith("!") for rule in rules), rules


def test_both_admission_policies_filter_the_approvers_the_same_way():
    filters = _policy_filters()
    # The policies that refuse and the one that stamps approvedBy must agree.
    assert set(filters) == {"flowops-promotion-rules", "flowops-promotion-separation", "flowops-promotion-approver"}, filters
    for name, expression in filters.items():
        assert f"a.matches('^{SERVICE_ACCOUNT}$')" in expression, name
        assert f"!a.matches('^system:serviceaccount:[^:]+:{CONTROLLERS}$')" in expression, name


def test_an_approver_in_the_environments_own_namespace_counts_nowhere():
    own = "!a.startsWith('system:serviceaccount:' + params.spec.namespace + ':')"
    for name, expression in _policy_filters().items():
        assert own in expression, name
    documents = yaml.safe_load_all((REPO / "manifests" / "policy" / "environments.yaml").read_text())
    refusing = next(d for d in documents if d["metadata"]["name"] == "flowops-environment-approver-namespace")
    variables = {v["name"]: v["expression"] for v in refusing["spec"]["variables"]}
    assert "'system:serviceaccount:' + object.spec.namespace + ':'" in variables["inOwnNamespace"]
    in_own = "system:serviceaccount:prod:argocd-sync"
    assert "own namespace prod" in (policy.gitops_approver_problem(in_own, "prod") or "")
    assert policy.gitops_approvers({"namespace": "prod", "policy": {"promotion": {"gitopsApprovers": [in_own]}}}) == []
    assert policy.gitops_approver_problem("system:serviceaccount:argocd:prod-sync", "prod") is None


def test_the_identity_policy_exempts_only_what_could_be_stamped_gitops():
    documents = yaml.safe_load_all((REPO / "manifests" / "policy" / "promotions.yaml").read_text())
    identity = next(d for d in documents if d["metadata"]["name"] == "flowops-promotion-identity")
    exempting = next(v["expression"] for v in identity["spec"]["validations"] if "== 'GitOps'" in v["expression"])
    assert f"request.userInfo.username.matches('^{SERVICE_ACCOUNT}$')" in exempting
    assert f"!request.userInfo.username.matches('^system:serviceaccount:[^:]+:{CONTROLLERS}$')" in exempting
