"""Which Environments depend on one by their upstream chain: those reconciled again when it
comes, goes or changes its spec.upstream."""

from __future__ import annotations

import pytest

from flowops.domain import upstreamchain

# prod → staging → dev; qa → dev; hotfix → gone (missing); loop-a ↔ loop-b; solo alone.
ENVIRONMENTS: dict[str, str | None] = {
    "dev": None,
    "staging": "dev",
    "prod": "staging",
    "qa": "dev",
    "hotfix": "gone",
    "loop-a": "loop-b",
    "loop-b": "loop-a",
    "solo": None,
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dev", ["prod", "qa", "staging"]),  # directly and further down
        ("staging", ["prod"]),
        ("prod", []),
        ("solo", []),
        ("gone", ["hotfix"]),  # missing: its creation clears hotfix's problem
        ("loop-a", ["loop-b"]),  # a cycle ends the walk; itself is not its own dependent
        ("unknown", []),
    ],
)
def test_dependents(name: str, expected: list[str]) -> None:
    assert upstreamchain.dependents(name, ENVIRONMENTS) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("prod", ["staging", "dev"]),
        ("hotfix", ["gone"]),
        ("loop-a", ["loop-b"]),
        ("dev", []),
        ("unknown", []),
    ],
)
def test_passes_through(name: str, expected: list[str]) -> None:
    assert upstreamchain.passes_through(name, ENVIRONMENTS) == expected


def test_a_long_chain_is_walked_only_to_the_limit() -> None:
    chain = {f"e{i}": f"e{i + 1}" for i in range(200)}
    assert len(upstreamchain.passes_through("e0", chain, limit=10)) == 11
    assert upstreamchain.dependents("e150", chain, limit=10) == [f"e{i}" for i in range(139, 150)]
    assert upstreamchain.dependents("e5", chain, limit=10) == [f"e{i}" for i in range(5)]
