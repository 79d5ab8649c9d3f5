"""Feed the state gauges (metricsstate.py) from the watch streams (called by watchers.py
for every event). Async and API-free: each event only replaces a few strings in memory.
Events of type None are Kopf's listing of a kind (start-up, after a broken watch, on
resuming): they mark the state for a sweep of what was deleted meanwhile, which a task
started here runs every FLOWOPS_METRICS_SWEEP_INTERVAL seconds."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from .. import envsettings, runtime
from ..metricsstate import state
from ..services import statesweep

log = logging.getLogger(__name__)


async def observe_environment(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_environment(body, deleted=type == "DELETED", listing=type is None)


async def observe_flow(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_flow(body, deleted=type == "DELETED", listing=type is None)


async def observe_apiclient(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_client(body, deleted=type == "DELETED", listing=type is None)


async def observe_promotion(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_promotion(body, deleted=type == "DELETED", listing=type is None)


# -- forgetting what was deleted while no watch ran ----------------------------------------
SWEEP_INTERVAL = "FLOWOPS_METRICS_SWEEP_INTERVAL"


async def sweep_every(interval: float, settings: kopf.OperatorSettings) -> None:
    """Every `interval` seconds, the sweep (services/statesweep.py): no request unless Kopf
    re-listed a kind since the last one, none on a paused replica."""
    while True:
        await asyncio.sleep(interval)
        try:
            page_size = settings.watching.chunk_size or 500  # pages like Kopf's own listing
            await asyncio.to_thread(statesweep.sweep, runtime.current().kube, state, page_size)
        except Exception as exc:
            log.warning("state gauges: the sweep failed (tried again in %gs): %s", interval, exc)


@kopf.on.startup()
async def start_state_sweep(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    interval = envsettings.number(SWEEP_INTERVAL)
    if interval > 0:
        memo.state_sweep = asyncio.get_running_loop().create_task(sweep_every(interval, settings), name="state sweep")


@kopf.on.cleanup()
async def stop_state_sweep(memo: kopf.Memo, **_: Any) -> None:
    task = memo.get("state_sweep")
    if task is not None:
        task.cancel()
