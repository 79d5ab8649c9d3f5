"""The sweep of the state gauges (metricsstate.py) after Kopf re-listed a kind.

Kopf's listing after a broken watch (410 Gone, an API server restart, resuming after a
pause) re-delivers the objects that still exist and never reports those deleted while no
watch ran: their entries would stay forever (a flow's info series, counts, a backlog
entry aging into the falling-behind alert). After such a listing, each kind the state
holds is listed once more, metadata only (names, no documents or status) and in pages,
and what that list does not name, and no event spoke of since it began, is forgotten.
At 10,000 flows that is 10,000 small metadata items per re-list, not per interval: with
no re-list, a sweep costs no request.
"""

from __future__ import annotations

import logging
import time

from ..kube import APICLIENTS, ENVIRONMENTS, FLOWS, PROMOTIONS, Kube
from ..metricsstate import Key, State

log = logging.getLogger(__name__)

RESOURCES = {"Environment": ENVIRONMENTS, "Flow": FLOWS, "ApiClient": APICLIENTS, "Promotion": PROMOTIONS}


def present(kube: Kube, kind: str, page_size: int) -> set[Key]:
    """(namespace, name) of every object of the kind, cluster-wide ("" namespace for Environments)."""
    items = kube.iterate(RESOURCES[kind], metadata_only=True, page_size=page_size)
    return {((item["metadata"].get("namespace") or ""), item["metadata"]["name"]) for item in items}


def sweep(kube: Kube, state: State, page_size: int) -> int:
    """Forgets what was deleted while no watch ran, if Kopf re-listed since the last sweep;
    returns how many entries went. A failed list leaves the sweep due for the next call."""
    forgotten = 0
    kinds = state.start_sweep()
    try:
        for kind in kinds:
            started = time.monotonic()
            forgotten += state.forget_absent(kind, present(kube, kind, page_size), started)
    except Exception:
        state.sweep_failed()
        raise
    if forgotten:
        log.info("state gauges: forgot %d object(s) deleted while no watch ran", forgotten)
    elif kinds:
        log.debug("state gauges: swept %s after a re-list, nothing to forget", ", ".join(kinds))
    return forgotten
