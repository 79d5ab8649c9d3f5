"""Publish each Environment's flow counts without a write per Flow event.

While thousands of flows are created, nearly every Flow event changes the counts, and the
Environment's status seen on the watch lags behind this process's own writes. So each
environment has at most one write in flight and at most one write per interval, the last
counts offered are the ones written last, and for a while after its own write this
process compares with what it wrote rather than with the lagging watch. A failed write is
retried, less and less often, until it succeeds or the Environment is gone (or is another
object of the same name now): after an outage no Flow event may come to offer the counts
again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

Counts = tuple[int, int]
# Writes the counts; False when the Environment is gone or is another object now.
Write = Callable[[str, Counts], Awaitable[bool]]

# Counts are shown by `kubectl get environments`; a second's delay is not noticed there.
INTERVAL_SECONDS = 1.0
# After this long the watch shows our own write: what it shows is the truth again (another
# operator process may have written since).
SETTLE_SECONDS = 5.0
# Retries of a failed write wait twice as long each time, up to this.
RETRY_CAP_SECONDS = 30.0

logger = logging.getLogger(__name__)


class CountPublisher:
    def __init__(
        self,
        interval: float = INTERVAL_SECONDS,
        settle: float = SETTLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval, self._settle, self._clock = interval, settle, clock
        self._written: dict[str, tuple[Counts, float]] = {}
        self._pending: dict[str, Counts] = {}
        self._drains: dict[str, asyncio.Task[None]] = {}

    def offer(self, key: str, environment: str, counts: Counts, known: Counts | None, write: Write) -> None:
        """`key`: the Environment's uid (a re-created namesake starts afresh). `known`: the
        counts its status shows on the watch, None if it shows none yet."""
        if key not in self._drains and counts == self._reference(key, known):
            return
        self._pending[key] = counts
        if key not in self._drains:
            self._drains[key] = asyncio.get_running_loop().create_task(self._drain(key, environment, write))

    def _reference(self, key: str, known: Counts | None) -> Counts | None:
        written = self._written.get(key)
        if written is not None and self._clock() - written[1] < self._settle:
            return written[0]
        return known

    async def _drain(self, key: str, environment: str, write: Write) -> None:
        failures = 0
        try:
            while key in self._pending:
                counts = self._pending.pop(key)
                if counts == self._reference(key, None):  # written moments ago
                    continue
                try:
                    if not await write(environment, counts):
                        return  # nothing shows these counts any more
                except Exception as error:
                    failures += 1
                    logger.warning("could not publish the flow counts of environment %s: %s", environment, error)
                    self._pending.setdefault(key, counts)
                    await asyncio.sleep(min(self._interval * 2**failures, RETRY_CAP_SECONDS))
                    continue
                failures = 0
                self._written[key] = (counts, self._clock())
                await asyncio.sleep(self._interval)
        finally:
            self._drains.pop(key, None)
