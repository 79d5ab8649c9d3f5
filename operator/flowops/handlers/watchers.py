"""One Kopf watching handler per kind: it calls, in turn, each function that follows that
kind's events.

Kopf's own cost per handler and event (building its arguments and context, its logging)
is larger than what these functions do with most events. With one handler per function,
a restart of 3,000 flows spent about 1.7 of its 9.2 CPU seconds on two of the three Flow
watchers' Kopf overhead (docs/benchmarks-journal.md). As with Kopf, a function that raises is
logged and the others still run; each keeps its own handler metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import kopf

from ..kube.resources import API_GROUP, API_VERSION
from ..metricshooks import timed
from . import bindings, environments, flows, observe, promotionhistory

Watcher = Callable[..., Any]


def _timed(*watchers: Watcher) -> tuple[Watcher, ...]:
    return tuple(timed(w.__name__, w) for w in watchers)


FLOW_WATCHERS = _timed(observe.observe_flow, flows.flow_event, bindings.flow_changed)
APICLIENT_WATCHERS = _timed(observe.observe_apiclient, bindings.prime_client_resume, bindings.count_clients)
PROMOTION_WATCHERS = _timed(observe.observe_promotion, promotionhistory.prune_finished_promotions, bindings.promotion_changed)
APPLICATION_WATCHERS = _timed(bindings.prime_application_resume, bindings.application_deleted)
ENVIRONMENT_WATCHERS = _timed(
    observe.observe_environment, bindings.environment_changed, environments.rival_takes_over, environments.chain_changed
)
# Only watched: Kopf must never write to namespaces (no changing handlers, no finalizers).
NAMESPACE_WATCHERS = _timed(environments.namespace_changed)


async def run_each(watchers: Sequence[Watcher], kwargs: dict[str, Any]) -> None:
    for watcher in watchers:
        try:
            if asyncio.iscoroutinefunction(watcher):
                await watcher(**kwargs)
            else:
                await asyncio.to_thread(watcher, **kwargs)
        except Exception:
            kwargs["logger"].exception(f"Handler {watcher.__name__!r} failed with an exception. Will ignore.")


@kopf.on.event(API_GROUP, API_VERSION, "flows")
async def flow_watched(**kwargs: Any) -> None:
    await run_each(FLOW_WATCHERS, kwargs)


@kopf.on.event(API_GROUP, API_VERSION, "apiclients")
async def apiclient_watched(**kwargs: Any) -> None:
    await run_each(APICLIENT_WATCHERS, kwargs)


@kopf.on.event(API_GROUP, API_VERSION, "promotions")
async def promotion_watched(**kwargs: Any) -> None:
    await run_each(PROMOTION_WATCHERS, kwargs)


@kopf.on.event(API_GROUP, API_VERSION, "environments")
async def environment_watched(**kwargs: Any) -> None:
    await run_each(ENVIRONMENT_WATCHERS, kwargs)


@kopf.on.event(API_GROUP, API_VERSION, "applications")
async def application_watched(**kwargs: Any) -> None:
    await run_each(APPLICATION_WATCHERS, kwargs)


@kopf.on.event("", "v1", "namespaces")
async def namespace_watched(**kwargs: Any) -> None:
    await run_each(NAMESPACE_WATCHERS, kwargs)
