"""Compiled guardrails, shared across flows: CEL compiles once per rule set."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from ..domain import guardrails

_cache: "OrderedDict[str, guardrails.CompiledRules]" = OrderedDict()
_guard = threading.Lock()
_SIZE = 64


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
