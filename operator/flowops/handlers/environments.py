"""Environment: policy validation, counts, and re-evaluation when guardrails change."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube.resources import API_GROUP, API_VERSION
from ..services import environments, flowevents
from .events import post
from .indexes import environment_named, environment_of_namespace

ENVIRONMENT = (API_GROUP, API_VERSION, "environments")


@kopf.on.resume(*ENVIRONMENT, backoff=2)
@kopf.on.create(*ENVIRONMENT, backoff=2)
@kopf.on.update(*ENVIRONMENT, backoff=2)
def reconcile_environment(
    body: kopf.Body, spec: kopf.Spec, environments_by_name: kopf.Index, environments_by_namespace: kopf.Index, **_: Any
) -> None:
    rt = runtime.current()
    try:
        environments.reconcile(
            rt,
            body,
            lambda name: environment_named(environments_by_name, name),
            flowevents.counts(rt, spec.get("namespace")),
            post,
            namespace_owner=lambda namespace: environment_of_namespace(environments_by_namespace, namespace),
        )
    except environments.ReevaluationIncomplete as exc:
        raise kopf.TemporaryError(str(exc), delay=5) from None
