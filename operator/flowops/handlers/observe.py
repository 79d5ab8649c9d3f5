"""Feed the state gauges (metricsstate.py) from the watch streams. Async and API-free:
each event only replaces a few strings in memory."""

from __future__ import annotations

from typing import Any

import kopf

from ..kube.resources import API_GROUP, API_VERSION
from ..metricsstate import state


@kopf.on.event(API_GROUP, API_VERSION, "environments")
async def observe_environment(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_environment(body, deleted=type == "DELETED")


@kopf.on.event(API_GROUP, API_VERSION, "flows")
async def observe_flow(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_flow(body, deleted=type == "DELETED")


@kopf.on.event(API_GROUP, API_VERSION, "apiclients")
async def observe_apiclient(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_client(body, deleted=type == "DELETED")


@kopf.on.event(API_GROUP, API_VERSION, "promotions")
async def observe_promotion(type: str, body: kopf.Body, **_: Any) -> None:
    state.observe_promotion(body, deleted=type == "DELETED")
