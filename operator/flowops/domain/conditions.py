"""Status conditions as kstatus reads them: Ready summarises; Reconciling and Stalled
are present only while true (abnormal-true), so `kubectl wait --for=condition=Ready`,
Flux and Argo CD health checks read the truth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Condition = dict[str, Any]


def condition(type_: str, status: bool | str, reason: str, message: str = "", generation: int | None = None) -> Condition:
    value = status if isinstance(status, str) else ("True" if status else "False")
    result: Condition = {"type": type_, "status": value, "reason": reason, "message": message}
    if generation is not None:
        result["observedGeneration"] = generation
    return result


def merge(existing: Sequence[Mapping[str, Any]] | None, desired: Sequence[Condition], now: str, drop: Sequence[str] = ()) -> list[Condition]:
    """Desired conditions with lastTransitionTime kept when the status did not change.

    Types in `drop` are removed (kstatus wants Reconciling/Stalled absent when false).
    Types neither desired nor dropped are kept as they were.
    """
    previous = {c.get("type"): c for c in existing or ()}
    desired_types = {c["type"] for c in desired}
    result: list[Condition] = []
    for cond in desired:
        before = previous.get(cond["type"])
        transition = before.get("lastTransitionTime") if before and before.get("status") == cond["status"] else None
        result.append({**cond, "lastTransitionTime": transition or now})
    for type_, cond in previous.items():
        if type_ not in desired_types and type_ not in drop:
            result.append(dict(cond))
    return sorted(result, key=lambda c: c["type"])


def summary(ready: bool, reason: str, message: str, generation: int | None, reconciling: str | None = None, stalled: str | None = None) -> tuple[list[Condition], list[str]]:
    """Ready plus the kstatus pair; returns (conditions to set, types to drop)."""
    conditions = [condition("Ready", ready, reason, message, generation)]
    drop: list[str] = []
    if reconciling:
        conditions.append(condition("Reconciling", True, "Progressing", reconciling, generation))
    else:
        drop.append("Reconciling")
    if stalled:
        conditions.append(condition("Stalled", True, reason, stalled, generation))
    else:
        drop.append("Stalled")
    return conditions, drop


def find(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type_), None)
