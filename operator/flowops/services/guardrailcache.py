"""Compiled guardrails, shared across flows: CEL compiles once per rule set. And the last
few verdicts, so one document is not evaluated twice (a promotion checks its result, then
the target's commit checks the same content)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..domain import guardrails
from ..lru import BoundedLRU

_SIZE = 64
_cache: BoundedLRU[str, guardrails.CompiledRules] = BoundedLRU(_SIZE)

# (rules digest, content hash) -> results. Results are immutable; a few entries suffice.
_RESULTS_SIZE = 8
_results: BoundedLRU[tuple[str, str], tuple[guardrails.RuleResult, ...]] = BoundedLRU(_RESULTS_SIZE)


def compiled(specs: Sequence[Mapping[str, Any]]) -> guardrails.CompiledRules:
    key = guardrails.rules_digest(specs)
    held = _cache.get(key)
    if held is not None:
        return held
    rules = guardrails.compile_rules(specs)
    _cache.add(key, rules)
    return rules


def evaluate(rules: guardrails.CompiledRules, document: Any, content_hash: str) -> list[guardrails.RuleResult]:
    """guardrails.evaluate, memoised: `content_hash` must be the canonical hash of `document`."""
    key = (rules.digest, content_hash)
    held = _results.get(key)
    if held is not None:
        return list(held)
    results = guardrails.evaluate(rules, document)
    _results.add(key, tuple(results))
    return results
