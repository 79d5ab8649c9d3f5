"""Finished Promotions beyond the environment's promotionHistoryLimit are deleted."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube import API_GROUP, API_VERSION
from ..services import promotionhistory
from .indexes import first

PROMOTION = (API_GROUP, API_VERSION, "promotions")


async def prune_finished_promotions(
    type: str | None, body: kopf.Body, finished_promotions: kopf.Index, environments_by_namespace: kopf.Index, **_: Any
) -> None:
    if type == "DELETED":
        return
    entry = promotionhistory.index_entry(body)
    if not entry:
        return
    namespace, flow = next(iter(entry))
    env = first(environments_by_namespace, namespace)
    if env is None:
        return  # not indexed yet: never prune with a limit that may not be the environment's
    # At start-up (listing, type None) each Promotion decides only about itself.
    only = body["metadata"]["name"] if type is None else None
    await promotionhistory.prune(
        runtime.current(), namespace, list(finished_promotions.get((namespace, flow), ())), env.get("spec"), only=only
    )
