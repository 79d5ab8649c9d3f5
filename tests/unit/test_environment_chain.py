"""What an Environment's status says of its upstream chain: each problem named with its fix."""

from __future__ import annotations

from flowops.services.environments import chain_problem, missing_upstream


def lookup(upstreams: dict[str, str | None]):
    return lambda name: {"spec": {"upstream": upstreams[name]}} if name in upstreams else None


def test_a_valid_chain_has_no_problem():
    assert chain_problem("prod", {"upstream": "staging"}, lookup({"staging": "dev", "dev": None})) is None


def test_a_missing_upstream_is_waited_for_not_a_fault():
    assert chain_problem("prod", {"upstream": "staging"}, lookup({})) is None
    assert missing_upstream("prod", {"upstream": "staging"}, lookup({})) == (
        "spec.upstream names environment 'staging', which does not exist: waiting for it (if the name is wrong, correct "
        "spec.upstream)"
    )
    assert missing_upstream("prod", {"upstream": "staging"}, lookup({"staging": "dev"})).startswith(
        "spec.upstream names environment 'dev'"
    )
    assert missing_upstream("prod", {"upstream": "staging"}, lookup({"staging": "prod"})) is None  # a cycle: a fault


def test_a_cycle_is_shown_in_full():
    problem = chain_problem("prod", {"upstream": "staging"}, lookup({"staging": "prod"}))
    assert problem == "spec.upstream makes a cycle: prod → staging → prod; promotions must flow one way"


def test_a_chain_over_the_limit_says_the_limit_and_the_fix():
    chain = {f"e{i}": f"e{i + 1}" for i in range(10)} | {"e10": None}
    problem = chain_problem("start", {"upstream": "e0"}, lookup(chain), limit=5)
    assert problem == "spec.upstream chain has more than 5 environments: point spec.upstream at one nearer its start"
