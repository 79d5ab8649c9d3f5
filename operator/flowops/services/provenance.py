"""Whether a Flow's `flowops.io/promotion` annotation is what a real Promotion wrote.

The annotation makes content commit as promoted (skipping Manual mode and, in protected
environments, the tamper restore), so it counts only when the Promotion it names exists
with that uid, targets this flow and planned exactly this content."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..domain.commit import promotion_provenance
from ..domain.promotion import target_flow_name
from ..kube import PROMOTIONS, Kube

Poster = Callable[[Mapping[str, Any], str, str, str], None]


def mismatch(kube: Kube, namespace: str, flow: str, record: Mapping[str, Any]) -> str | None:
    """Why the record is not the named Promotion's (None when it is)."""
    name = str(record.get("name") or "")
    promotion = kube.get_or_none(PROMOTIONS, name, namespace) if name else None
    if promotion is None:
        return f"Promotion {name or '(unnamed)'} does not exist in namespace {namespace}"
    if promotion["metadata"].get("uid") != record.get("uid"):
        return f"Promotion {name} has another uid"
    if target_flow_name(promotion.get("spec") or {}) != flow:
        return f"Promotion {name} targets another flow"
    planned = ((promotion.get("status") or {}).get("plan") or {}).get("contentHash")
    if planned != record.get("contentHash"):
        return f"Promotion {name} did not plan this content"
    return None


def verified(kube: Kube, flow: Mapping[str, Any], annotation: str | None, content_hash: str, post: Poster) -> str | None:
    """The annotation when a real Promotion wrote it for this content, else None (the
    content is then an ordinary edit; in a protected environment, a tampering one)."""
    record = promotion_provenance(annotation, content_hash)
    if record is None:
        return annotation  # not for this content: the commit decision ignores it anyway
    meta = flow["metadata"]
    problem = mismatch(kube, meta["namespace"], meta["name"], record)
    if problem is None:
        return annotation
    post(
        flow,
        "Warning",
        "ProvenanceRejected",
        f"the flowops.io/promotion annotation is not a real promotion ({problem}): the content is treated as an ordinary edit",
    )
    return None
