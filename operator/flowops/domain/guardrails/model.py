"""Results of guardrail rules, shaped like FlowVersion status.guardrails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..pointer import join_pointer

# status.guardrails[].violations is truncated to this many entries (see the CRD).
MAX_VIOLATIONS = 20


@dataclass(frozen=True)
class Violation:
    """One broken expectation: where (JSON Pointer, "" is the whole document) and what to do."""

    path: str
    message: str

    def to_status(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule on one document."""

    rule: str
    passed: bool
    violations: tuple[Violation, ...] = ()

    def to_status(self, max_violations: int = MAX_VIOLATIONS) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "passed": self.passed,
            "violations": [v.to_status() for v in self.violations[:max_violations]],
            "violationCount": len(self.violations),
        }


@dataclass(frozen=True)
class RuleError:
    """A rule that cannot be used (unknown built-in, bad parameters, CEL syntax error)."""

    rule: str
    message: str


def pointer(*tokens: str | int) -> str:
    """JSON Pointer (RFC 6901) from unescaped tokens."""
    return join_pointer(tokens)
