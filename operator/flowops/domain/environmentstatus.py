"""The conditions an Environment shows (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import conditions

# GuardrailsValid: every custom rule compiles. Problems in the spec (a cyclic chain, rules
# that do not compile, a namespace another Environment holds) need a person: Stalled. A
# namespace or upstream Environment not there yet is waited for (GitOps may apply it later
# in the same sync, and its creation reconciles the Environment again): Reconciling.
ENVIRONMENT = conditions.ConditionSet("Environment", dependents=("GuardrailsValid",))


def environment_conditions(
    generation: int | None,
    rules_valid: bool,
    rules_message: str,
    problems: Sequence[str],
    previous: Sequence[Mapping[str, Any]] | None,
    now: str,
    waiting: Sequence[str] = (),
) -> list[conditions.Condition]:
    marks = ENVIRONMENT.marks(generation)
    if rules_valid:
        marks.true("GuardrailsValid", "Valid", "all guardrails compile")
    else:
        marks.false("GuardrailsValid", "InvalidRules", rules_message)
    if problems:
        marks.stalled("InvalidSpec", "; ".join(problems))  # waiting is told once these are fixed
    elif waiting:
        marks.reconciling("Waiting", "; ".join(waiting)).not_ready("Waiting", "; ".join(waiting))
    else:
        marks.ready("Ready", "policy valid; upstream chain valid")
    return marks.conditions(previous, now)
