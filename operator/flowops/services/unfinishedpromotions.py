"""Promotions into each flow that have not finished yet: what a binding whose flow or
version is missing may be waiting for (domain.bindingtarget.awaiting_promotion).

In the operator they come from a Kopf index of unfinished Promotions only
(handlers/indexes.py): finished ones outnumber them by thousands and are never waited
for. Without it (a process that is not the operator) the namespace's are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.bindingtarget import UnfinishedPromotion
from ..domain.promotion import TERMINAL, target_flow_name
from ..domain.versionid import parse_selector
from ..kube import PROMOTIONS
from ..runtime import Runtime

__all__ = ["INDEX", "asked_by", "index_entry", "into"]

INDEX = "unfinished_promotions"

Key = tuple[str, str]


def _content_hash(spec: Mapping[str, Any]) -> str | None:
    """The content hash of the version it lands, when its spec fixes it: a source pinned by
    hash, promoted whole (a partial promotion lands other content)."""
    version = (spec.get("source") or {}).get("version")
    changes = spec.get("changes") or {}
    if changes.get("include") or changes.get("exclude"):
        return None
    try:
        selector = parse_selector(version) if version else None
    except ValueError:
        return None
    return str(selector.value) if selector is not None and selector.kind == "hash" else None


def index_entry(body: Mapping[str, Any]) -> dict[Key, UnfinishedPromotion]:
    """(namespace, target flow) -> the Promotion, while it is unfinished; else nothing. One
    being deleted lands nothing."""
    status, spec, meta = body.get("status") or {}, body.get("spec") or {}, body.get("metadata") or {}
    phase = status.get("phase") or ""
    if phase in TERMINAL or meta.get("deletionTimestamp"):
        return {}
    return {
        (meta.get("namespace", ""), target_flow_name(spec)): UnfinishedPromotion(meta.get("name", ""), phase, _content_hash(spec))
    }


def into(rt: Runtime, namespace: str, flow: str) -> list[UnfinishedPromotion]:
    """The unfinished Promotions into `flow` in `namespace`."""
    key = (namespace, flow)
    index = rt.indexes.get(INDEX)
    if index is not None:
        return list(index.get(key, ()))
    return [p for body in rt.kube.list(PROMOTIONS, namespace) for k, p in index_entry(body).items() if k == key]


def asked_by(rt: Runtime, kind: str, name: str, namespace: str, flow: str) -> list[UnfinishedPromotion]:
    """`into`, for binding `kind`/`name`: noted first, so a Promotion indexed after this read
    reaches the binding though its status is not indexed yet (services/promotionwaiters.py)."""
    rt.bindings.promotion_waiters.asked(namespace, flow, kind, name)
    return into(rt, namespace, flow)
