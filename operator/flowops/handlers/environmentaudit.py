"""Environment: what a spec change loosens, told in an Event (the audit trail)."""

from __future__ import annotations

from typing import Any

import kopf

from ..kube.resources import API_GROUP, API_VERSION
from ..services import environmentaudit
from .events import post


@kopf.on.update(API_GROUP, API_VERSION, "environments", field="spec")
def environment_policy_loosened(body: kopf.Body, old: Any, new: Any, **_: Any) -> None:
    environmentaudit.report_loosened(body, old, new, post)
