"""domain.policy: the effective value of every environment policy field, one row per case."""

import pytest

from flowops.domain import policy


@pytest.mark.parametrize("spec, protected, head_bindings", [
    (None, False, True),                                                   # no Environment manages the namespace
    ({"tier": "Development"}, False, True),
    ({"tier": "Staging"}, False, True),
    ({"tier": "Production"}, True, False),                                 # production is protected by default
    ({"tier": "Production", "protected": False}, False, True),             # explicit opt-out
    ({"tier": "Development", "protected": True}, True, False),
    ({"tier": "Production", "policy": {"allowHeadBindings": True}}, True, True),
    ({"tier": "Development", "policy": {"allowHeadBindings": False}}, False, False),
])
def test_protection_and_head_bindings(spec, protected, head_bindings):
    assert policy.protected(spec) is protected
    assert policy.allow_head_bindings(spec) is head_bindings


@pytest.mark.parametrize("env_spec, flow_spec, limit", [
    (None, None, policy.DEFAULT_HISTORY_LIMIT),
    ({"policy": {"historyLimit": 10}}, None, 10),
    ({"policy": {"historyLimit": 10}}, {"versioning": {"historyLimit": 3}}, 3),   # the flow's own wins
    (None, {"versioning": {"historyLimit": 5}}, 5),
    ({"policy": {}}, {"versioning": {}}, policy.DEFAULT_HISTORY_LIMIT),
])
def test_history_limit(env_spec, flow_spec, limit):
    assert policy.history_limit(env_spec, flow_spec) == limit


@pytest.mark.parametrize("spec, rules", [
    (None, []),
    ({"policy": {}}, []),
    ({"policy": {"guardrails": [{"name": "a", "builtin": "formFieldsExist"}]}}, [{"name": "a", "builtin": "formFieldsExist"}]),
])
def test_guardrail_specs(spec, rules):
    assert policy.guardrail_specs(spec) == rules
