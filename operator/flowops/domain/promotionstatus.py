"""The conditions a Promotion shows for each phase (pure).

kstatus (Flux, `kubectl wait`, Helm --wait) and Argo CD read them as:
  Pending, Running   Reconciling=True                 -> InProgress / Progressing
  AwaitingApproval   Approved=False, no Ready,         -> Current / Suspended: a Promotion kept
                     no Reconciling, no Stalled           in git never holds up a sync while it
                                                          waits (kstatus reads Ready=False as InProgress)
  Succeeded          Ready=True                        -> Current / Healthy
  Failed             Stalled=True, Ready=False         -> Failed / Degraded, with the reason
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import conditions

# Approved is marked only while a reviewed Promotion waits for its approval.
PROMOTION = conditions.ConditionSet("Promotion", dependents=("Approved",))

PHASES = ("Pending", "AwaitingApproval", "Running", "Succeeded", "Failed")


def promotion_conditions(
    phase: str,
    message: str,
    generation: int | None,
    previous: Sequence[Mapping[str, Any]] | None,
    now: str,
    reason: str | None = None,
) -> list[conditions.Condition]:
    if phase not in PHASES:
        raise ValueError(f"unknown Promotion phase {phase}")
    marks = PROMOTION.marks(generation)
    if phase in ("Pending", "Running"):
        marks.reconciling(phase, message)
    elif phase == "AwaitingApproval":
        marks.suspended("Approved", "AwaitingApproval", message)
    elif phase == "Succeeded":
        marks.ready(reason or "Succeeded", message)
    else:
        # Terminal: only a new Promotion (or a fixed source) changes anything.
        marks.stalled(reason or "Failed", message)
    return marks.conditions(previous, now)


def acknowledged_after_finish(promotion: Mapping[str, Any]) -> tuple[dict[str, Any], str, str] | None:
    """A finished Promotion whose spec changed since (an approval merged after it failed):
    the status fields that mark the new generation observed, the Event type, and its
    message; None when there is nothing to acknowledge. The outcome stands: kstatus and Argo
    CD would otherwise read the Promotion as in progress for ever."""
    meta, status = promotion.get("metadata") or {}, promotion.get("status") or {}
    generation, phase = meta.get("generation"), status.get("phase")
    if phase not in ("Succeeded", "Failed") or generation is None or status.get("observedGeneration") == generation:
        return None
    marked = [{**c, "observedGeneration": generation} for c in status.get("conditions") or []]
    message = (
        f"this Promotion already finished ({phase}: {status.get('message') or 'no message'}); a change to its spec "
        "does not run it again: create a new Promotion"
    )
    return {"observedGeneration": generation, "conditions": marked}, "Warning" if phase == "Failed" else "Normal", message
