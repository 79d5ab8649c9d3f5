"""Compiled guardrails, shared across flows: CEL compiles once per rule set. And the last
few verdicts, so one document is not evaluated twice (a promotion checks its result, then
the target's commit checks the same content)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from ..domain import guardrails

_cache: OrderedDict[str, guardrails.CompiledRules] = OrderedDict()
_guard = threading.Lock()
_SIZE = 64

# (rules digest, content hash) -> results. Results are immutable; a few entries suffice.
_results: OrderedDict[tuple[str, str], tuple[guardrails.RuleResult, ...]] = OrderedDict()
_RESULTS_SIZE = 8


def compiled(specs: Sequence[Mapping[str, Any]]) -> guardrails.CompiledRules:
    key = guardrails.rules_digest(specs)
    with _guard:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    rules = guardrails.compile_rules(specs)
    with _guard:
        _cache[key] = rules
        while len(_cache) > _SIZE:
            _cache.popitem(last=False)
    return rules


def evaluate(rules: guardrails.CompiledRules, document: Any, content_hash: str) -> list[guardrails.RuleResult]:
    """guardrails.evaluate, memoised: `content_hash` must be the canonical hash of `document`."""
    key = (rules.digest, content_hash)
    with _guard:
        if key in _results:
            _results.move_to_end(key)
            return list(_results[key])
    results = guardrails.evaluate(rules, document)
    with _guard:
        _results[key] = tuple(results)
        while len(_results) > _RESULTS_SIZE:
            _results.popitem(last=False)
    return results
