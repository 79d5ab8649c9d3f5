"""Make a Flow's stored versions follow its spec.deletionPolicy (see domain/history.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import names
from ..domain import history
from ..kube import FLOWVERSIONS, Kube


def follow_policy(kube: Kube, flow: Mapping[str, Any], items: list[dict[str, Any]] | None = None) -> history.Policy:
    """Adopts (Delete) or releases (Retain) the flow's versions; returns the policy now in force.
    Runs only when the policy differs from the one the Flow's status says its versions follow.
    `items`: every FlowVersion object of the flow's name, if the caller has just listed them."""
    meta = flow["metadata"]
    policy = history.policy_of(flow.get("spec"))
    if items is None:
        items = kube.list(
            FLOWVERSIONS, meta["namespace"], label_selector=f"{names.LABEL_FLOW}={meta['name']}", metadata_only=True
        )
    for item in items:
        wanted = history.reconciled_owners(policy, flow, item["metadata"].get("ownerReferences"))
        if wanted is not None:
            # A merge patch replaces the whole list; null clears it.
            kube.merge_patch(
                FLOWVERSIONS,
                item["metadata"]["name"],
                {"metadata": {"ownerReferences": wanted or None}},
                meta["namespace"],
                metadata_only=True,
            )
    return policy
