"""Status conditions as kstatus reads them, owned per kind.

Each kind declares a `ConditionSet`: the condition types it manages. `Ready` is derived
from the set's dependents; `Reconciling` and `Stalled` are abnormal-true (present only
while true), so `kubectl wait --for=condition=Ready`, Flux (kstatus) and Argo CD read the
truth. A type the kind manages but did not mark this time is stale and removed, so a
condition that stops being true disappears instead of lingering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Condition = dict[str, Any]

READY, RECONCILING, STALLED = "Ready", "Reconciling", "Stalled"
TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def condition(type_: str, status: bool | str, reason: str, message: str = "", generation: int | None = None) -> Condition:
    value = status if isinstance(status, str) else (TRUE if status else FALSE)
    result: Condition = {"type": type_, "status": value, "reason": reason, "message": message}
    if generation is not None:
        result["observedGeneration"] = generation
    return result


@dataclass(frozen=True)
class ConditionSet:
    """The condition types one kind manages (like Knative's ConditionSet).

    `dependents` decide Ready: Ready is True only when every marked dependent is True.
    `informational` types are reported (e.g. Tampered) but do not decide Ready.
    Ready, Reconciling and Stalled belong to every set.
    """

    kind: str
    dependents: tuple[str, ...] = ()
    informational: tuple[str, ...] = ()

    @property
    def owned(self) -> frozenset[str]:
        return frozenset((READY, RECONCILING, STALLED, *self.dependents, *self.informational))

    def marks(self, generation: int | None) -> Marks:
        return Marks(self, generation)


@dataclass
class Marks:
    """The conditions one reconcile observed; `conditions()` turns them into the list to
    publish. The only way to set a kind's conditions."""

    owner: ConditionSet
    generation: int | None
    _marked: dict[str, Condition] = field(default_factory=dict)
    _ready: tuple[str, str] | None = None
    _not_ready: tuple[str, str] | None = None
    _suspended: bool = False

    def _mark(self, type_: str, status: str, reason: str, message: str) -> Marks:
        if type_ not in self.owner.owned:
            raise ValueError(f"{self.owner.kind} does not manage condition {type_}")
        self._marked[type_] = condition(type_, status, reason, message, self.generation)
        return self

    def true(self, type_: str, reason: str, message: str = "") -> Marks:
        return self._mark(type_, TRUE, reason, message)

    def false(self, type_: str, reason: str, message: str = "") -> Marks:
        return self._mark(type_, FALSE, reason, message)

    def unknown(self, type_: str, reason: str, message: str = "") -> Marks:
        return self._mark(type_, UNKNOWN, reason, message)

    def stalled(self, reason: str, message: str) -> Marks:
        """Only a person can fix this: kstatus reports Failed, Flux fails fast with the message."""
        return self._mark(STALLED, TRUE, reason, message)

    def reconciling(self, reason: str, message: str) -> Marks:
        """Work is under way: kstatus reports InProgress."""
        return self._mark(RECONCILING, TRUE, reason, message)

    def suspended(self, type_: str, reason: str, message: str) -> Marks:
        """Waiting for a person's go-ahead, which is no fault (a review awaiting approval):
        `type_` is False and Ready is left out. kstatus then reads Current (it falls back to
        Ready only when present, and Ready=False would be InProgress), so a Flux sync never
        waits on it; `kubectl wait --for=condition=Ready` keeps waiting."""
        self._suspended = True
        return self._mark(type_, FALSE, reason, message)

    def ready(self, reason: str, message: str = "") -> Marks:
        """Reason and message for Ready when every dependent is True."""
        self._ready = (reason, message)
        return self

    def not_ready(self, reason: str, message: str) -> Marks:
        """Ready is False for a reason no dependent carries (e.g. nothing committed yet)."""
        self._not_ready = (reason, message)
        return self

    def ready_condition(self) -> Condition | None:
        dependents = [self._marked[t] for t in self.owner.dependents if t in self._marked]
        failed = next((c for c in dependents if c["status"] == FALSE), None)
        unknown = next((c for c in dependents if c["status"] == UNKNOWN), None)
        stalled, reconciling = self._marked.get(STALLED), self._marked.get(RECONCILING)
        if self._suspended and not (stalled or reconciling or self._not_ready):
            return None
        if self._not_ready:
            status, (reason, message) = FALSE, self._not_ready
        elif stalled:
            status, reason, message = FALSE, stalled["reason"], stalled["message"]
        elif failed:
            status, reason, message = FALSE, failed["reason"], failed["message"]
        elif unknown:
            status, reason, message = UNKNOWN, unknown["reason"], unknown["message"]
        elif reconciling:
            status, reason, message = UNKNOWN, reconciling["reason"], reconciling["message"]
        else:
            status, (reason, message) = TRUE, self._ready or ("Ready", "")
        return condition(READY, status, reason, message, self.generation)

    def conditions(self, existing: Sequence[Mapping[str, Any]] | None, now: str) -> list[Condition]:
        """Ready plus what was marked; every other type is dropped (stale, or not ours).
        lastTransitionTime is kept when a type keeps its status."""
        ready = self.ready_condition()
        desired = [*self._marked.values(), *([ready] if ready else [])]
        return merge(existing, desired, now, drop=tuple(self.owner.owned), keep_unknown=False)


def merge(
    existing: Sequence[Mapping[str, Any]] | None,
    desired: Sequence[Condition],
    now: str,
    drop: Sequence[str] = (),
    keep_unknown: bool = True,
) -> list[Condition]:
    """Desired conditions with lastTransitionTime kept when the status did not change.

    Types in `drop` are removed (kstatus wants Reconciling/Stalled absent when false).
    Types neither desired nor dropped are kept as they were when `keep_unknown`.
    """
    previous = {c.get("type"): c for c in existing or ()}
    desired_types = {c["type"] for c in desired}
    result: list[Condition] = []
    for cond in desired:
        before = previous.get(cond["type"])
        transition = before.get("lastTransitionTime") if before and before.get("status") == cond["status"] else None
        result.append({**cond, "lastTransitionTime": transition or now})
    if keep_unknown:
        for type_, kept in previous.items():
            if type_ not in desired_types and type_ not in drop:
                result.append(dict(kept))
    return sorted(result, key=lambda c: c["type"])


def summary(
    ready: bool, reason: str, message: str, generation: int | None, reconciling: str | None = None, stalled: str | None = None
) -> tuple[list[Condition], list[str]]:
    """Ready plus the kstatus pair; returns (conditions to set, types to drop).
    Kept for callers not yet on a ConditionSet."""
    conditions = [condition(READY, ready, reason, message, generation)]
    drop: list[str] = []
    if reconciling:
        conditions.append(condition(RECONCILING, True, "Progressing", reconciling, generation))
    else:
        drop.append(RECONCILING)
    if stalled:
        conditions.append(condition(STALLED, True, reason, stalled, generation))
    else:
        drop.append(STALLED)
    return conditions, drop


def find(conditions: Sequence[Mapping[str, Any]] | None, type_: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions or () if c.get("type") == type_), None)


def same(before: Sequence[Mapping[str, Any]] | None, after: Sequence[Mapping[str, Any]] | None) -> bool:
    """Equal but for lastTransitionTime: nothing worth a status write."""
    return _essence(before) == _essence(after)


def _essence(conds: Sequence[Mapping[str, Any]] | None) -> list[tuple[Any, ...]]:
    return sorted(
        ((c.get("type"), c.get("status"), c.get("reason"), c.get("message"), c.get("observedGeneration")) for c in conds or ()),
        key=repr,
    )
