"""Start-up, login and health of the operator process."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import kopf

from .. import metricshooks, runtime
from .. import settings as operator_settings
from ..services import environmentlookup, pins, process, unfinishedpromotions


@kopf.on.startup()
def startup(
    settings: kopf.OperatorSettings,
    logger: kopf.Logger,
    apiclient_pins: kopf.Index,
    application_pins: kopf.Index,
    promotion_pins: kopf.Index,
    unfinished_promotions: kopf.Index,
    environments_by_namespace: kopf.Index,
    **_: Any,
) -> None:
    operator_settings.configure(settings)
    # Live views Kopf keeps filling from the watch streams; services read them (pins, the
    # Environment a client is decided under, the Promotions a binding may wait for).
    indexes = {
        pins.APICLIENT_PINS: apiclient_pins,
        pins.APPLICATION_PINS: application_pins,
        pins.PROMOTION_PINS: promotion_pins,
        unfinishedpromotions.INDEX: unfinished_promotions,
        environmentlookup.BY_NAMESPACE: environments_by_namespace,
    }
    rt = process.connect(
        os.environ.get("KUBECONFIG"),
        os.environ.get("FLOWOPS_CONTEXT"),
        os.environ.get("FLOWOPS_PEERING_NAME"),
        indexes=indexes,
        handler_threads=settings.execution.max_workers,
    )
    logger.info("flowops operator connected to %s", rt.kube.configuration.host)


@kopf.on.login()
async def login(**_: Any) -> kopf.AiohttpSession:
    # Async: the session is made in Kopf's event loop. Kopf's usual session, plus a trace
    # that counts Kopf's own requests in the API request metrics.
    return metricshooks.traced_session(kopf.ConnectionInfo(**process.credentials(runtime.current())))


@kopf.on.probe(id="api")
async def api_reachable(**_: Any) -> bool:
    # Async, its request in asyncio's own pool: as a sync probe it queued behind busy
    # handler threads, and a liveness answer must not wait for the work it watches over.
    return await asyncio.to_thread(process.api_reachable, runtime.current())
