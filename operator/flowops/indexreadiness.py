"""Kopf's start-up barrier without waking every waiter on every change.

Until every indexed object (Promotions, ApiClients, Applications, Environments) has been
indexed, Kopf makes the worker of every object wait on one set of toggles, and each
indexed object drops its toggle with a notify_all: every waiting worker wakes and takes
the lock in turn to re-check. With thousands of finished Promotions that is quadratic:
5,000 Promotions and 3,000 Flows kept the operator at full CPU for minutes before it
handled a single Flow. This set wakes its waiters only when its own state changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from kopf._cogs.aiokits import aiotoggles

logger = logging.getLogger(__name__)


class _NotifyingCondition(asyncio.Condition):
    """The set's condition: the toggles it makes notify through it when turned."""

    def __init__(self, on_notify: Callable[[], None]) -> None:
        super().__init__()
        self._on_notify = on_notify

    def notify_all(self) -> None:
        super().notify_all()
        self._on_notify()


class PromptToggleSet(aiotoggles.ToggleSet):
    """Kopf's ToggleSet, whose wait_for wakes only when the combined state changes."""

    def __init__(self, fn: Callable[[Iterable[bool]], bool]) -> None:
        super().__init__(fn)
        self._condition = _NotifyingCondition(self._changed)
        self._waiting: dict[bool, list[asyncio.Future[None]]] = {True: [], False: []}

    async def wait_for(self, __state: bool) -> None:
        wanted = bool(__state)
        if self.is_on() == wanted:
            return
        # No await between the check and the registration: no change can slip in between.
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[wanted].append(future)
        try:
            await future
        finally:
            if not future.done():  # cancelled
                self._waiting[wanted].remove(future)

    def _changed(self) -> None:
        state = self.is_on()
        woken, self._waiting[state] = self._waiting[state], []
        for future in woken:
            if not future.done():
                future.set_result(None)


def install() -> bool:
    """Makes Kopf build its toggle sets as PromptToggleSet; False (and a warning) if this
    Kopf's toggles are not the ones this was written for."""
    original: Any = aiotoggles.ToggleSet
    probe = original(all)
    if not isinstance(getattr(probe, "_condition", None), asyncio.Condition) or not hasattr(probe, "_toggles"):
        logger.warning("kopf's toggle sets changed shape: start-up with many indexed objects stays quadratic")
        return False
    aiotoggles.ToggleSet = PromptToggleSet  # type: ignore[misc]
    return True
