"""Feed the state gauges (metricsstate.py) from the watch streams (called by watchers.py
for every event). Async and API-free: each event only replaces a few strings in memory."""

from __future__ import annotations

from typing import Any

import kopf

from ..metricsstate import state


async def observe_environment(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_environment(body, deleted=type == "DELETED")


async def observe_flow(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_flow(body, deleted=type == "DELETED")


async def observe_apiclient(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_client(body, deleted=type == "DELETED")


async def observe_promotion(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_promotion(body, deleted=type == "DELETED")
