"""Finished Promotions kept per target flow: the newest `spec.policy.promotionHistoryLimit`.

Without a limit they pile up for ever, and every restart lists them all. Deleting one
loses nothing: the version it created keeps its provenance (source, requester, approver,
comment). Promotions that Flux or Argo CD track are never deleted: git owns them, and
deleting one would only make the GitOps tool create it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from ..domain import policy, retention
from ..domain.retention import FinishedPromotion
from ..domain.tracking import is_tracked
from ..kube import PROMOTIONS, NotFound
from ..runtime import Runtime

__all__ = ["INDEX", "index_entry", "is_tracked", "prune"]

INDEX = "finished_promotions"
TERMINAL_PHASES = ("Succeeded", "Failed")


def index_entry(body: Mapping[str, Any]) -> dict[tuple[str, str], FinishedPromotion]:
    """(namespace, target flow) -> the Promotion, when it is finished; else nothing."""
    status, spec, meta = body.get("status") or {}, body.get("spec") or {}, body.get("metadata") or {}
    if status.get("phase") not in TERMINAL_PHASES:
        return {}
    source = spec.get("source") or {}
    flow = (spec.get("target") or {}).get("flow") or source.get("flow") or ""
    completed = str(status.get("completedAt") or meta.get("creationTimestamp") or "")
    return {(meta.get("namespace", ""), flow): FinishedPromotion(meta.get("name", ""), completed, is_tracked(meta))}


async def prune(
    rt: Runtime,
    namespace: str,
    finished: Iterable[FinishedPromotion],
    env_spec: Mapping[str, Any] | None,
    only: str | None = None,
) -> list[str]:
    """Delete the finished Promotions of one target flow beyond the environment's limit
    (only `only`, if given: at start-up each one is judged on its own listing event, so
    none is deleted twice). Returns the names deleted. Deciding costs no API call, so
    a thread is taken only to delete: most events (a new Promotion's among them) need none."""
    doomed = retention.promotions_to_delete(list(finished), policy.promotion_history_limit(env_spec))
    if only is not None:
        doomed = [name for name in doomed if name == only]
    if not doomed:
        return []
    return await asyncio.to_thread(_delete, rt, namespace, doomed)


def _delete(rt: Runtime, namespace: str, doomed: list[str]) -> list[str]:
    deleted = []
    for name in doomed:
        try:
            rt.kube.delete(PROMOTIONS, name, namespace)
            deleted.append(name)
        except NotFound:
            pass  # deleted meanwhile (by a person, or by this on an earlier event)
    return deleted
