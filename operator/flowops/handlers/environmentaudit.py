"""Environment: what a spec change loosens, and a change of a protected environment's
values, told in Events (the audit trail)."""

from __future__ import annotations

from typing import Any

import kopf

from ..kube.resources import API_GROUP, API_VERSION
from ..services import environmentaudit
from .events import post


@kopf.on.update(API_GROUP, API_VERSION, "environments", field="spec")
def environment_policy_loosened(body: kopf.Body, old: Any, new: Any, apiclients_by_flow: kopf.Index, **_: Any) -> None:
    environmentaudit.report_loosened(body, old, new, post)
    namespace = (body.get("spec") or {}).get("namespace")
    clients = [e for key in list(apiclients_by_flow) if key[0] == namespace for e in list(apiclients_by_flow.get(key, ()))]
    environmentaudit.report_values_changed(body, old, new, post, clients)
