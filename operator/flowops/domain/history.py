"""What a Flow's deletion does to its versions (spec.deletionPolicy), decided per version.

Retain (the default): versions carry no owner, so deleting the Flow (a prune from git, a
deleted Kustomization or Application, `kubectl delete`) leaves its history; a Flow of the
same name created later continues it (numbering, parent, no new version for the same
content). Delete: versions are owned by the Flow and garbage-collected with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Policy = Literal["Retain", "Delete"]
DEFAULT: Policy = "Retain"


def policy_of(spec: Mapping[str, Any] | None) -> Policy:
    return "Delete" if (spec or {}).get("deletionPolicy") == "Delete" else DEFAULT


def owner_reference(flow: Mapping[str, Any]) -> dict[str, Any]:
    meta = flow["metadata"]
    return {
        "apiVersion": flow.get("apiVersion", "flowops.io/v1alpha1"),
        "kind": "Flow",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
    }


def owner_references(policy: Policy, flow: Mapping[str, Any]) -> list[dict[str, Any]]:
    """For a new version."""
    return [owner_reference(flow)] if policy == "Delete" else []


def reconciled_owners(
    policy: Policy, flow: Mapping[str, Any], current: Sequence[Mapping[str, Any]] | None
) -> list[dict[str, Any]] | None:
    """The ownerReferences an existing version should have, or None when it has them.
    Versions owned by another Flow object (a deleted namesake with policy Delete, waiting
    for garbage collection) are left alone: they are not this Flow's history."""
    current = list(current or [])
    uid = flow["metadata"]["uid"]
    flow_owners = [r for r in current if r.get("kind") == "Flow"]
    if any(r.get("uid") != uid for r in flow_owners):
        return None
    others = [dict(r) for r in current if r.get("kind") != "Flow"]
    if policy == "Delete":
        if flow_owners:
            return None
        return others + [owner_reference(flow)]
    return others if flow_owners else None
