"""Environments the indexes do not hold yet, asked of the API server."""

from __future__ import annotations

from typing import Any

from .. import metrics
from ..kube import ENVIRONMENTS
from ..runtime import Runtime


def environment_of_namespace(rt: Runtime, namespace: str) -> dict[str, Any] | None:
    """The API server's answer when the index has none yet: watch streams are not ordered
    across kinds, so an Environment applied a moment before its flows may not be indexed."""
    for env in rt.kube.list(ENVIRONMENTS):
        if (env.get("spec") or {}).get("namespace") == namespace:
            metrics.set_environment(namespace, env["metadata"]["name"])  # its watch event may lag too
            return {"metadata": {"name": env["metadata"]["name"]}, "spec": env["spec"]}
    return None


def environment_named(rt: Runtime, name: str) -> dict[str, Any] | None:
    env = rt.kube.get_or_none(ENVIRONMENTS, name) if name else None
    return {"metadata": {"name": env["metadata"]["name"]}, "spec": env["spec"]} if env else None
