"""kstatus' generic rules (sigs.k8s.io/cli-utils pkg/kstatus/status: checkGenericProperties,
then "Current" for kinds it has no rules for), as Flux health checks and `kubectl wait`
apply them to flowops objects. Ready is not read at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def compute(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating", "Resource scheduled for deletion"
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    # Only checked when the field exists: an object without it is judged by its conditions alone.
    if generation is not None and observed is not None and observed != generation:
        return "InProgress", f"{obj.get('kind')} generation is {generation}, but latest observed generation is {observed}"
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Reconciling" and condition.get("status") == "True":
            return "InProgress", condition.get("message", "")
        if condition.get("type") == "Stalled" and condition.get("status") == "True":
            return "Failed", condition.get("message", "")
    return "Current", "Resource is current"
