"""domain.policy: the effective value of every environment policy field, one row per case."""

import pytest

from flowops.domain import policy


@pytest.mark.parametrize(
    "spec, protected, head_bindings",
    [
        (None, False, True),  # no Environment manages the namespace
        ({"tier": "Development"}, False, True),
        ({"tier": "Staging"}, False, True),
        ({"tier": "Staging", "upstream": "development"}, True, False),  # not the lowest of its chain: by promotion only
        ({"tier": "Staging", "upstream": "development", "protected": False}, False, True),
        ({"tier": "Production"}, True, False),  # production is protected by default
        ({"tier": "Production", "protected": False}, False, True),  # explicit opt-out
        ({"tier": "Development", "protected": True}, True, False),
        ({"tier": "Production", "policy": {"allowHeadBindings": True}}, True, True),
        ({"tier": "Development", "policy": {"allowHeadBindings": False}}, False, False),
    ],
)
def test_protection_and_head_bindings(spec, protected, head_bindings):
    assert policy.protected(spec) is protected
    assert policy.allow_head_bindings(spec) is head_bindings


@pytest.mark.parametrize(
    "env_spec, flow_spec, limit",
    [
        (None, None, policy.DEFAULT_HISTORY_LIMIT),
        ({"policy": {"historyLimit": 10}}, None, 10),
        ({"policy": {"historyLimit": 10}}, {"versioning": {"historyLimit": 3}}, 3),  # the flow's own wins
        (None, {"versioning": {"historyLimit": 5}}, 5),
        ({"policy": {}}, {"versioning": {}}, policy.DEFAULT_HISTORY_LIMIT),
    ],
)
def test_history_limit(env_spec, flow_spec, limit):
    assert policy.history_limit(env_spec, flow_spec) == limit


@pytest.mark.parametrize(
    "spec, rules",
    [
        (None, []),
        ({"policy": {}}, []),
        (
            {"policy": {"guardrails": [{"name": "a", "builtin": "formFieldsExist"}]}},
            [{"name": "a", "builtin": "formFieldsExist"}],
        ),
    ],
)
def test_guardrail_specs(spec, rules):
    assert policy.guardrail_specs(spec) == rules


# Promotion policy: the defaults the admission policies (manifests/policy/promotions.yaml) apply too.
DEV = {"namespace": "d", "tier": "Development"}
STAGING = {"namespace": "s", "tier": "Staging", "upstream": "development"}
PROD = {"namespace": "p", "tier": "Production", "upstream": "staging"}
LONE_STAGING = {"namespace": "l", "tier": "Staging"}


@pytest.mark.parametrize(
    ("name", "spec", "expected"),
    [
        ("production", PROD, ["staging", "production"]),
        ("development", DEV, ["development"]),
        (
            "production",
            {**PROD, "policy": {"promotion": {"allowedSources": ["staging", "hotfix"]}}},
            ["staging", "hotfix", "production"],
        ),
        ("production", {**PROD, "policy": {"promotion": {"allowedSources": []}}}, ["production"]),  # rollbacks only
        ("production", {**PROD, "policy": {"promotion": {"allowedSources": ["production"]}}}, ["production"]),
    ],
)
def test_allowed_sources_are_the_upstream_and_itself_by_default(name, spec, expected):
    assert policy.allowed_sources(name, spec) == expected


@pytest.mark.parametrize(
    ("spec", "review", "duties", "head"),
    [
        (DEV, False, False, True),
        (STAGING, True, True, False),
        (PROD, True, True, False),
        ({**STAGING, "policy": {"promotion": {"requireReview": False}}}, False, True, False),
        ({**PROD, "policy": {"promotion": {"separationOfDuties": False, "allowHeadSource": True}}}, True, False, True),
        ({**DEV, "policy": {"promotion": {"requireReview": True}}}, True, False, True),
    ],
)
def test_review_duties_and_head_follow_protection_unless_set(spec, review, duties, head):
    assert (policy.require_review(spec), policy.separation_of_duties(spec), policy.allow_head_source(spec)) == (
        review,
        duties,
        head,
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (DEV, False),
        ({**DEV, "policy": {"promotion": {"allowUncommittedSource": True}}}, True),
        ({**LONE_STAGING, "policy": {"promotion": {"allowUncommittedSource": True}}}, False),  # Development targets only
    ],
)
def test_uncommitted_source_is_a_development_opt_in(spec, expected):
    assert policy.allow_uncommitted_source(spec) is expected


def test_approvers_and_freeze():
    spec = {
        **PROD,
        "freeze": {"reason": "black friday"},
        "policy": {
            "promotion": {
                "approverGroups": ["sre"],
                "gitopsApprovers": ["system:serviceaccount:flux-system:flowops-applier"],
            }
        },
    }
    assert policy.approver_groups(spec) == ["sre"] and policy.approver_groups(PROD) is None
    assert policy.gitops_approvers(spec) == ["system:serviceaccount:flux-system:flowops-applier"]
    assert policy.freeze(spec) == {"reason": "black friday"} and policy.freeze(PROD) is None


@pytest.mark.parametrize(
    ("username", "problem"),
    [
        ("system:serviceaccount:flux-system:flowops-applier", None),
        ("system:serviceaccount:tenant-a:sync.prod", None),
        ("system:serviceaccount:flux-system:kustomize-controller", "controller's own identity"),
        ("system:serviceaccount:gitops:helm-controller", "controller's own identity"),
        ("system:serviceaccount:argocd:argocd-application-controller", "controller's own identity"),
        ("system:serviceaccount:argocd:argocd-server", "controller's own identity"),
        # installs that prefix the names
        ("system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller", "controller's own identity"),
        ("system:serviceaccount:flux:flux2-kustomize-controller", "controller's own identity"),
        ("system:serviceaccount:flux-system:kustomize-controller-sa", None),  # not the controller's name
        ("alice@example.com", "is not a ServiceAccount"),
        ("system:serviceaccounts:flux-system", "is not a ServiceAccount"),  # a group, not a user
        ("system:serviceaccount:flux-system", "is not a ServiceAccount"),
        ("system:serviceaccount:flux-system:applier:extra", "is not a ServiceAccount"),
        ("system:admin", "is not a ServiceAccount"),
    ],
)
def test_a_gitops_approver_is_one_syncs_own_service_account(username, problem):
    found = policy.gitops_approver_problem(username)
    assert (found is None) if problem is None else (problem in (found or ""))
    spec = {**PROD, "policy": {"promotion": {"gitopsApprovers": [username]}}}
    assert policy.gitops_approvers(spec) == ([username] if problem is None else [])
