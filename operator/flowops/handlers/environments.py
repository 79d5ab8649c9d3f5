"""Environment: policy validation, counts, and re-evaluation when guardrails change."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube import API_GROUP, API_VERSION
from ..services import environments
from ..services.flowregistry import registry
from .events import post
from .flows import prime
from .indexes import environment_named

ENVIRONMENT = (API_GROUP, API_VERSION, "environments")


def _reconcile(body: kopf.Body, spec: kopf.Spec, environments_by_name: kopf.Index) -> None:
    if spec.get("namespace"):
        prime(spec["namespace"])
    # None until every flow there has been seen: the flows' own events publish them then.
    counts = registry.counts(spec.get("namespace"))
    environments.reconcile(runtime.current(), body, lambda name: environment_named(environments_by_name, name), counts, post)


@kopf.on.resume(*ENVIRONMENT, backoff=2)
@kopf.on.create(*ENVIRONMENT, backoff=2)
@kopf.on.update(*ENVIRONMENT, backoff=2)
def reconcile_environment(body: kopf.Body, spec: kopf.Spec, environments_by_name: kopf.Index, **_: Any) -> None:
    _reconcile(body, spec, environments_by_name)
