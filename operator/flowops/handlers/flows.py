"""Flow: commit content changes as versions; publish HEAD and status."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube import API_GROUP, API_VERSION
from ..services import flows
from .events import post
from .indexes import first

FLOW = (API_GROUP, API_VERSION, "flows")


@kopf.on.resume(*FLOW, backoff=2)
@kopf.on.create(*FLOW, backoff=2)
@kopf.on.update(*FLOW, backoff=2)
def reconcile_flow(body: kopf.Body, namespace: str, environments_by_namespace: kopf.Index, **_: Any) -> None:
    flows.reconcile(runtime.current(), body, first(environments_by_namespace, namespace), post=post)
