"""The status ApiClients and Applications show (pure).

An ApiClient's status.flow / version / number always describe what its ConfigMap holds
right now — what the client really uses — even while the requested binding cannot be
resolved; retention spares that version (services/pins.py reads status.flow/version).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import conditions
from .binding import Resolution
from .bindingtarget import Problem, is_head_selector
from .materialise import Fingerprint


@dataclass(frozen=True)
class ClientFacts:
    generation: int | None
    request: Resolution
    materialised: Fingerprint | None  # what the ConfigMap holds after this reconcile
    config_map: str
    follows_head: bool
    problem: Problem | None = None
    # The last generation whose resolution was served; a refusal leaves it where it was, so
    # a spec refused once counts its writer again at every later resolution.
    reviewed_generation: int | None = None


def client_facts(
    generation: int | None,
    previous: Mapping[str, Any],
    request: Resolution,
    held: Fingerprint | None,
    config_map: str,
    problem: Problem | None,
) -> ClientFacts:
    """What one reconcile of a client found: `held`, what its ConfigMap holds after it."""
    return ClientFacts(
        generation=generation,
        request=request,
        materialised=held,
        config_map=config_map,
        follows_head=problem is None and request.version is not None and is_head_selector(request.version),
        problem=problem,
        reviewed_generation=generation if problem is None and held is not None else previous.get("reviewedGeneration"),
    )


# Resolved decides Ready for both kinds: the binding names a flow version that exists.
APICLIENT = conditions.ConditionSet("ApiClient", dependents=("Resolved",))
APPLICATION = conditions.ConditionSet("Application", dependents=("Resolved",))


def _mark_problem(marks: conditions.Marks, problem: Problem, message: str) -> None:
    """Stalled when only a person can fix the binding (kstatus Failed); suspended, without
    Ready, while it waits for a Promotion awaiting approval (kstatus Current, as that
    Promotion: a Flux sync that applied both is not held for days, nor failed); else it is
    waiting for something the operator will see (e.g. a first version): Reconciling."""
    if problem.stalled:
        marks.stalled(problem.reason, message)
    elif problem.suspended:
        marks.suspended("Resolved", problem.reason, message)
    else:
        marks.reconciling(problem.reason, message)


def _holding(facts: ClientFacts) -> str:
    if facts.materialised is None:
        return f"no ConfigMap {facts.config_map} is written until this is fixed"
    return f"ConfigMap {facts.config_map} keeps {facts.materialised.describe()}"


def client_status(facts: ClientFacts, previous: Mapping[str, Any] | None, now: str) -> dict[str, Any]:
    previous = previous or {}
    held = facts.materialised
    request = facts.request
    status: dict[str, Any] = {
        "observedGeneration": facts.generation,
        "reviewedGeneration": facts.reviewed_generation,
        "flow": held.flow if held else None,
        "version": held.version if held else None,
        "number": held.number if held else None,
        "transition": held.transition if held else None,
        "contentHash": held.contentHash if held else None,
        "configMap": facts.config_map if held else None,
        "values": held.rendered_with if held and held.values else None,  # what a value change re-renders
        "followsHead": facts.follows_head if facts.problem is None else False,
        "requested": {"name": request.name, "version": request.version},
        "sources": {"name": request.name_source, "version": request.version_source},
    }
    marks = APICLIENT.marks(facts.generation)
    if facts.problem is None:
        assert held is not None
        how = "following HEAD" if facts.follows_head else f"pinned by {request.version_source} to {request.version}"
        message = f"{held.describe()}, {how}; materialised in ConfigMap {facts.config_map}"
        if request.application_missing:
            message += f" (Application {request.application} does not exist; only the client's own settings apply)"
        marks.true("Resolved", "Resolved", message).ready("Resolved", message)
    else:
        problem = facts.problem
        message = f"{problem.message}; {_holding(facts)}"
        marks.false("Resolved", problem.reason, message)
        _mark_problem(marks, problem, message)
    status["conditions"] = marks.conditions(previous.get("conditions"), now)
    return status


NO_DEFAULT_FLOW = "no default flow name: each client sets its own spec.defaultFlow.name"


def application_message(flow: str, follows_head: bool, number: int, version_id: str) -> str:
    """What an Application's Ready says when its default flow resolves."""
    return f"default flow {flow} at HEAD" if follows_head else f"default flow {flow} version {number} ({version_id})"


def application_status(
    generation: int | None,
    clients: int,
    problem: Problem | None,
    message: str,
    previous: Mapping[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    """Ready tells whether the application's own default resolves (its clients may still
    override it); `message` describes the default when there is no problem."""
    previous = previous or {}
    marks = APPLICATION.marks(generation)
    if problem is None:
        marks.true("Resolved", "Resolved", message).ready("Resolved", message)
    else:
        marks.false("Resolved", problem.reason, problem.message)
        _mark_problem(marks, problem, problem.message)
    return {
        "observedGeneration": generation,
        "clients": clients,
        "conditions": marks.conditions(previous.get("conditions"), now),
    }


def _pruned(value: Any) -> Any:
    # None in a merge patch deletes the field, so the stored status never holds it.
    if isinstance(value, Mapping):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    return value


def same_status(previous: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """Nothing to write: a resync of thousands of clients issues no writes."""
    previous = previous or {}
    return all(previous.get(key) == _pruned(value) for key, value in desired.items() if value is not None) and all(
        key not in previous for key, value in desired.items() if value is None
    )
