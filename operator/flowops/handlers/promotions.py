"""Promotion: a one-shot copy of a flow version into this namespace's environment."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube.resources import API_GROUP, API_VERSION
from ..services import promotions
from ..services.common import RetryLater
from .events import post
from .indexes import environment_named, environment_of_namespace
from .retries import retry_shortly

PROMOTION = (API_GROUP, API_VERSION, "promotions")


def _unfinished(meta: kopf.Meta, status: kopf.Status, **_: Any) -> bool:
    """Or finished, with a change to its spec not yet marked observed."""
    return status.get("phase") not in ("Succeeded", "Failed") or status.get("observedGeneration") != meta.get("generation")


# A finished Promotion is history: a restart does not even call the handler for it.
@kopf.on.resume(*PROMOTION, backoff=2, when=_unfinished)
@kopf.on.create(*PROMOTION, backoff=2)
@kopf.on.update(*PROMOTION, field="spec.approved", backoff=2)
def reconcile_promotion(
    body: kopf.Body,
    environments_by_name: kopf.Index,
    environments_by_namespace: kopf.Index,
    retry: int,
    **_: Any,
) -> None:
    try:
        promotions.reconcile(
            runtime.current(),
            body,
            env_by_name=lambda name: environment_named(environments_by_name, name),
            env_by_namespace=lambda namespace: environment_of_namespace(environments_by_namespace, namespace),
            known_environments=lambda: list(environments_by_name.keys()),
            post=post,
        )
    except RetryLater as exc:
        raise retry_shortly(exc, retry, 1, body, post) from None
