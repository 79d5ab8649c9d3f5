"""Environment counts: one write in flight, the last counts last, no write for what the
status already shows (a restart), and the watch trusted again once it has caught up."""

from __future__ import annotations

import asyncio

from flowops.services import environmentcounts
from flowops.services.environmentcounts import RETRY_CAP_SECONDS, CountPublisher


class Writer:
    def __init__(self, fail: int = 0) -> None:
        self.written: list[tuple[str, tuple[int, int]]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail = fail

    async def __call__(self, environment: str, counts: tuple[int, int]) -> bool:
        await self.release.wait()
        if self.fail:
            self.fail -= 1
            raise RuntimeError("API server unavailable")
        self.written.append((environment, counts))
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def run(test):  # type: ignore[no-untyped-def]
    return lambda: asyncio.run(test())


@run
async def test_counts_the_status_already_shows_are_not_written() -> None:
    publisher, write = CountPublisher(interval=0), Writer()
    publisher.offer("uid-1", "dev", (3, 0), (3, 0), write)
    await settle()
    assert write.written == []


@run
async def test_while_a_write_is_in_flight_only_the_newest_counts_follow_it() -> None:
    publisher, write = CountPublisher(interval=0), Writer()
    write.release.clear()
    for flows in range(1, 101):
        publisher.offer("uid-1", "dev", (flows, 0), None, write)
        await asyncio.sleep(0)
    write.release.set()
    await settle()
    assert write.written == [("dev", (1, 0)), ("dev", (100, 0))]


@run
async def test_the_lagging_watch_does_not_cause_a_rewrite_of_what_was_just_written() -> None:
    clock = Clock()
    publisher, write = CountPublisher(interval=0, settle=5, clock=clock), Writer()
    publisher.offer("uid-1", "dev", (5, 1), (4, 1), write)
    await settle()
    clock.now += 1
    publisher.offer("uid-1", "dev", (5, 1), (4, 1), write)  # the watch still shows the old status
    await settle()
    assert write.written == [("dev", (5, 1))]


@run
async def test_once_the_watch_has_caught_up_it_is_the_truth_again() -> None:
    # Another operator process wrote other counts since: they are corrected.
    clock = Clock()
    publisher, write = CountPublisher(interval=0, settle=5, clock=clock), Writer()
    publisher.offer("uid-1", "dev", (5, 1), None, write)
    await settle()
    clock.now += 6
    publisher.offer("uid-1", "dev", (5, 1), (7, 0), write)
    await settle()
    assert write.written == [("dev", (5, 1)), ("dev", (5, 1))]


@run
async def test_a_failed_write_is_retried_with_the_newest_counts() -> None:
    publisher, write = CountPublisher(interval=0), Writer(fail=2)
    publisher.offer("uid-1", "dev", (1, 0), None, write)
    await settle()
    assert write.written == [("dev", (1, 0))]


@run
async def test_a_write_that_keeps_failing_is_retried_until_the_api_server_answers() -> None:
    """After an outage no Flow event may come to offer the counts again."""
    publisher, write = CountPublisher(interval=0), Writer(fail=12)
    publisher.offer("uid-1", "dev", (1, 0), None, write)
    await settle()
    assert write.written == [("dev", (1, 0))]


@run
async def test_retries_wait_longer_each_time_up_to_a_cap() -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(seconds: float) -> None:
        if seconds:  # not the test's own yields
            waits.append(seconds)
        await real_sleep(0)

    publisher, write = CountPublisher(interval=1), Writer(fail=7)
    environmentcounts.asyncio.sleep = recorded  # type: ignore[assignment]
    try:
        publisher.offer("uid-1", "dev", (1, 0), None, write)
        while publisher._drains:
            await real_sleep(0)
    finally:
        environmentcounts.asyncio.sleep = real_sleep  # type: ignore[assignment]
    assert waits[:7] == [2, 4, 8, 16, RETRY_CAP_SECONDS, RETRY_CAP_SECONDS, RETRY_CAP_SECONDS]
    assert write.written == [("dev", (1, 0))]


@run
async def test_an_environment_gone_or_replaced_ends_the_retries() -> None:
    attempts = 0

    async def outage_then_gone(environment: str, counts: tuple[int, int]) -> bool:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("API server unavailable")
        return False  # deleted meanwhile, perhaps re-created under the same name

    publisher = CountPublisher(interval=0)
    publisher.offer("uid-1", "dev", (1, 0), None, outage_then_gone)
    await settle()
    assert attempts == 2 and not publisher._drains


@run
async def test_environments_are_written_independently() -> None:
    publisher, write = CountPublisher(interval=0), Writer()
    publisher.offer("uid-1", "dev", (1, 0), None, write)
    publisher.offer("uid-2", "staging", (2, 1), None, write)
    await settle()
    assert sorted(write.written) == [("dev", (1, 0)), ("staging", (2, 1))]


@run
async def test_a_re_created_namesake_is_written_although_it_shows_the_old_counts() -> None:
    publisher, write = CountPublisher(interval=0), Writer()
    publisher.offer("uid-1", "dev", (3, 0), None, write)
    await settle()
    publisher.offer("uid-2", "dev", (3, 0), None, write)  # new uid, empty status
    await settle()
    assert write.written == [("dev", (3, 0)), ("dev", (3, 0))]
