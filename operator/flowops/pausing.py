"""Whether Kopf has paused this replica, told to whoever reports state.

With peering, Kopf pauses every replica but the one with the highest priority: it stops
their watch streams and turns on a toggle in the operator's `operator_paused` set. Kopf
offers no handler for pausing and resuming, and the set is made inside `kopf.run`; its
orchestrator (the task that starts and stops the watch streams) is handed the set, so
the orchestrator is wrapped to follow the set beside it for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from kopf._cogs.aiokits import aiotoggles
from kopf._core.reactor import orchestration

logger = logging.getLogger(__name__)


async def follow(toggles: aiotoggles.ToggleSet, on_change: Callable[[bool], None]) -> None:
    """Calls on_change(paused) now and on every change, until cancelled."""
    while True:
        paused = toggles.is_on()
        on_change(paused)
        await toggles.wait_for(not paused)


def install(on_change: Callable[[bool], None]) -> bool:
    """Makes Kopf's orchestrator report pauses to on_change; False (and a warning) if this
    Kopf's orchestrator is not handed the set this was written for."""
    original: Any = orchestration.orchestrator
    if getattr(original, "_follows_pauses", False):
        return True
    if "operator_paused" not in inspect.signature(original).parameters:
        logger.warning("kopf's orchestrator changed shape: a paused replica keeps reporting its last state")
        return False

    @functools.wraps(original)
    async def orchestrator(**kwargs: Any) -> None:
        follower = asyncio.create_task(follow(kwargs["operator_paused"], on_change), name="flowops pause follower")
        try:
            await original(**kwargs)
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    orchestrator._follows_pauses = True  # type: ignore[attr-defined]
    orchestration.orchestrator = orchestrator
    return True
