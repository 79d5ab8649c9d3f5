"""Guardrails: rules a flow document must pass before it becomes HEAD or is promoted.

Pure functions, no I/O. Typical use by the operator::

    compiled = compile_rules(environment["spec"]["policy"].get("guardrails", []))
    results = evaluate(compiled, flow_document)
    ok, message = summarize(results)
    status = [r.to_status() for r in results]   # FlowVersion status.guardrails
    rules_hash = compiled.digest                  # FlowVersion status.rulesHash

Specs are the items of Environment spec.policy.guardrails:
``{name, builtin, parameters?}`` or ``{name, expression, message?}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import cel
from .builtins import BUILTINS
from .model import MAX_VIOLATIONS, RuleError, RuleResult, Violation, pointer

__all__ = [
    "BUILTINS",
    "MAX_VIOLATIONS",
    "CompiledRule",
    "CompiledRules",
    "RuleError",
    "RuleResult",
    "Violation",
    "compile_rules",
    "evaluate",
    "pointer",
    "summarize",
]

# Part of the digest: bump when a built-in's verdicts change, so stored
# results computed by an older operator are re-evaluated.
ENGINE_VERSION = "1"

_SPEC_KEYS = ("name", "builtin", "parameters", "expression", "message")


@dataclass(frozen=True)
class CompiledRule:
    """A usable rule: a built-in with validated parameters, or a compiled CEL expression."""

    name: str
    builtin: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    cel: cel.CelRule | None = None

    def run(self, doc: Mapping[str, Any], variables: dict[str, Any]) -> list[Violation]:
        if self.cel is not None:
            if not variables:
                variables.update(cel.activation(doc))  # converted once per document
            return cel.evaluate_cel(self.cel, variables)
        assert self.builtin is not None
        return BUILTINS[self.builtin].check(doc, self.parameters, rule=self.name)


@dataclass(frozen=True)
class CompiledRules:
    """Rules ready to evaluate. ``errors`` are rules that cannot be used; they fail every document."""

    rules: tuple[CompiledRule, ...]
    errors: tuple[RuleError, ...]
    digest: str

    @property
    def valid(self) -> bool:
        return not self.errors

    def status(self) -> list[dict[str, Any]]:
        """Environment status.guardrails: each rule and whether it is usable."""
        items: list[dict[str, Any]] = [{"name": r.name, "valid": True} for r in self.rules]
        items += [{"name": e.rule, "valid": False, "message": e.message} for e in self.errors]
        return items


def compile_rules(specs: Sequence[Mapping[str, Any]] | None) -> CompiledRules:
    """Validate and compile rule specs once; evaluate the result against many documents."""
    rules: list[CompiledRule] = []
    errors: list[RuleError] = []
    seen: set[str] = set()
    for index, spec in enumerate(specs or ()):
        compiled = _compile_one(index, spec, seen)
        (errors if isinstance(compiled, RuleError) else rules).append(compiled)  # type: ignore[arg-type]
    return CompiledRules(tuple(rules), tuple(errors), rules_digest(specs or ()))


def evaluate(compiled: CompiledRules, doc: Mapping[str, Any]) -> list[RuleResult]:
    """One result per rule: valid rules in spec order, then one failed result per invalid rule."""
    results: list[RuleResult] = []
    variables: dict[str, Any] = {}
    for rule in compiled.rules:
        try:
            violations = rule.run(doc, variables)
        except Exception as exc:  # a rule that crashes must not pass the document
            violations = [Violation("", f"rule {rule.name} could not be evaluated: {type(exc).__name__}: {exc}")]
        results.append(RuleResult(rule.name, not violations, tuple(violations)))
    for error in compiled.errors:
        results.append(
            RuleResult(
                error.rule,
                False,
                (
                    Violation(
                        "",
                        f"rule {error.rule} is invalid: {error.message}; fix it in the Environment's spec.policy.guardrails",
                    ),
                ),
            )
        )
    return results


def summarize(results: Sequence[RuleResult], limit: int = 3) -> tuple[bool, str]:
    """(all passed, one paragraph naming each broken rule with its first ``limit`` paths and fixes)."""
    failed = [r for r in results if not r.passed]
    if not failed:
        if not results:
            return True, "No guardrails apply."
        return True, f"All {len(results)} guardrails passed."
    parts = []
    for result in failed:
        shown = []
        for v in result.violations[:limit]:
            where = f" [{v.path}]" if v.path and v.path not in v.message else ""
            shown.append(v.message + where)
        more = len(result.violations) - len(shown)
        if more > 0:
            shown.append(f"and {more} more")
        count = len(result.violations)
        parts.append(f"{result.rule} ({count} violation{'s' if count != 1 else ''}): " + "; ".join(shown))
    head = f"{len(failed)} of {len(results)} guardrails failed: "
    return False, head + ". ".join(p.rstrip(".") for p in parts) + "."


def rules_digest(specs: Sequence[Mapping[str, Any]]) -> str:
    """Stable hash of the rule specs: equal when the rules mean the same, whatever their order."""
    normal = sorted(
        ({k: _plain(spec[k]) for k in _SPEC_KEYS if isinstance(spec, Mapping) and k in spec} for spec in specs),
        key=lambda s: json.dumps(s, sort_keys=True, default=str),
    )
    payload = json.dumps(
        {"engine": ENGINE_VERSION, "rules": normal}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def _plain(value: Any) -> Any:
    # Kopf hands out mapping views; make them plain JSON for hashing and checks.
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _compile_one(index: int, spec: Any, seen: set[str]) -> CompiledRule | RuleError:
    if not isinstance(spec, Mapping):
        return RuleError(f"#{index}", "a guardrail must be an object with name and builtin or expression")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        return RuleError(f"#{index}", "a guardrail needs a name (shown in every failure)")
    if name in seen:
        return RuleError(name, f"duplicate rule name {name!r}: give each guardrail its own name")
    seen.add(name)
    builtin, expression = spec.get("builtin"), spec.get("expression")
    if (builtin is None) == (expression is None):
        return RuleError(name, "set exactly one of builtin (a built-in rule) or expression (a CEL rule)")
    if expression is not None:
        if spec.get("parameters") is not None:
            return RuleError(name, "parameters apply only to built-in rules; a CEL rule has expression and message")
        if not isinstance(expression, str) or not expression.strip():
            return RuleError(name, "expression must be a non-empty CEL expression over the variable content")
        message = spec.get("message") or ""
        compiled = cel.compile_cel(name, expression, str(message))
        return compiled if isinstance(compiled, RuleError) else CompiledRule(name, cel=compiled)
    if builtin not in BUILTINS:
        return RuleError(name, f"unknown built-in {builtin!r}; known: {', '.join(BUILTINS)}")
    params = spec.get("parameters")
    params = _plain(params) if params is not None else {}
    if not isinstance(params, Mapping):
        return RuleError(name, f"parameters of {builtin} must be an object")
    problems = BUILTINS[builtin].validate(params)
    if problems:
        return RuleError(name, f"bad parameters for built-in {builtin}: " + "; ".join(problems))
    return CompiledRule(name, builtin=builtin, parameters=params)
