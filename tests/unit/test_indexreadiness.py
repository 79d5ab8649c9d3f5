"""The start-up barrier: same answers as Kopf's toggle sets, one wake-up per waiter."""

from __future__ import annotations

import asyncio

from kopf._cogs.aiokits import aiotoggles

from flowops.indexreadiness import PromptToggleSet


def run(test):  # type: ignore[no-untyped-def]
    return lambda: asyncio.run(test())


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@run
async def test_all_waiters_go_when_the_last_toggle_is_dropped_not_before() -> None:
    toggles = PromptToggleSet(all)
    made = [await toggles.make_toggle(name=str(i)) for i in range(3)]
    waiters = [asyncio.create_task(toggles.wait_for(True)) for _ in range(5)]
    for toggle in made[:2]:
        await toggles.drop_toggle(toggle)
        await settle()
        assert not any(w.done() for w in waiters)
    await toggles.drop_toggle(made[2])
    await settle()
    assert all(w.done() for w in waiters)


@run
async def test_turning_a_toggle_wakes_the_waiters_of_the_new_state() -> None:
    paused = PromptToggleSet(any)
    toggle = await paused.make_toggle(name="peering")
    await paused.wait_for(False)  # returns at once: nothing is on
    resumed = asyncio.create_task(paused.wait_for(True))
    await settle()
    assert not resumed.done()
    await toggle.turn_to(True)
    await settle()
    assert resumed.done()
    off = asyncio.create_task(paused.wait_for(False))
    await settle()
    assert not off.done()
    await toggle.turn_to(False)
    await settle()
    assert off.done()


@run
async def test_a_cancelled_waiter_leaves_the_others_waiting() -> None:
    toggles = PromptToggleSet(all)
    toggle = await toggles.make_toggle()
    cancelled, kept = asyncio.create_task(toggles.wait_for(True)), asyncio.create_task(toggles.wait_for(True))
    await settle()
    cancelled.cancel()
    await settle()
    await toggles.drop_toggle(toggle)
    await settle()
    assert cancelled.cancelled() and kept.done() and not kept.cancelled()


@run
async def test_same_answers_as_kopfs_own_set() -> None:
    for fn in (all, any):
        ours, theirs = PromptToggleSet(fn), aiotoggles.ToggleSet(fn)
        pairs = [(await ours.make_toggle(), await theirs.make_toggle()) for _ in range(4)]
        assert ours.is_on() == theirs.is_on()
        for i, (a, b) in enumerate(pairs):
            if i % 2:
                await a.turn_to(True)
                await b.turn_to(True)
            else:
                await ours.drop_toggle(a)
                await theirs.drop_toggle(b)
            assert ours.is_on() == theirs.is_on() and len(ours) == len(theirs)


@run
async def test_thousands_of_indexed_objects_wake_each_waiter_once() -> None:
    toggles = PromptToggleSet(all)
    made = [await toggles.make_toggle() for _ in range(3000)]
    wakes = 0

    async def worker() -> None:
        nonlocal wakes
        await toggles.wait_for(True)
        wakes += 1

    workers = [asyncio.create_task(worker()) for _ in range(3000)]
    await settle()
    for toggle in made:
        await toggles.drop_toggle(toggle)
    await asyncio.gather(*workers)
    assert wakes == 3000 and not toggles._waiting[True]
