"""An Environment reconciled, then its flow counts offered to the one writer of them.

The reconcile's own status write leaves the counts out. Taken when it began, they could
overwrite newer ones a Flow event had written meanwhile, and that writer, comparing with
its own last write, would not correct them until some later Flow event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..runtime import Runtime
from . import environments, flowevents
from .common import Poster
from .environments import EnvLookup


async def reconcile(
    rt: Runtime, env: Mapping[str, Any], env_by_name: EnvLookup, post: Poster, namespace_owner: EnvLookup
) -> None:
    await asyncio.to_thread(environments.reconcile, rt, env, env_by_name, post, namespace_owner=namespace_owner)
    await _offer_counts(rt, env)


async def reconcile_named(rt: Runtime, name: str, env_by_name: EnvLookup, post: Poster, namespace_owner: EnvLookup) -> None:
    """As stored now; gone: nothing to do."""
    env = await asyncio.to_thread(environments.reconcile_named, rt, name, env_by_name, post, namespace_owner=namespace_owner)
    if env is not None:
        await _offer_counts(rt, env)


async def _offer_counts(rt: Runtime, env: Mapping[str, Any]) -> None:
    counts = await asyncio.to_thread(flowevents.counts, rt, (env.get("spec") or {}).get("namespace"))
    if counts is None:
        return  # not every flow there seen yet: the flows' own events offer them then
    status = env.get("status") or {}
    flowevents.offer_counts(rt, env, counts, flowevents.shown_counts(status.get("flows"), status.get("outOfSync")))
