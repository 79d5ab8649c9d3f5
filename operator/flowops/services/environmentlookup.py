"""Environments the indexes do not hold yet, asked of the API server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import metrics
from ..kube import ENVIRONMENTS
from ..runtime import Runtime


def environment_of_namespace(rt: Runtime, namespace: str) -> dict[str, Any] | None:
    """The API server's answer when the index has none yet: watch streams are not ordered
    across kinds, so an Environment applied a moment before its flows may not be indexed."""
    claims = [
        {
            "metadata": {"name": env["metadata"]["name"], "creationTimestamp": env["metadata"].get("creationTimestamp")},
            "spec": env["spec"],
        }
        for env in rt.kube.list(ENVIRONMENTS)
        if (env.get("spec") or {}).get("namespace") == namespace
    ]
    if not claims:
        return None
    owner = min(claims, key=seniority)
    metrics.set_environment(namespace, owner["metadata"]["name"])  # its watch event may lag too
    return owner


# Runtime.indexes key of Kopf's Environment index by namespace (handlers/indexes.py).
BY_NAMESPACE = "environments_by_namespace"


def governing_now(rt: Runtime, namespace: str, given: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The Environment governing `namespace` as the live index shows it now; `given` where
    there is no index (outside the operator). For a decision made under a lock that the
    caller waited for: the Environment it looked up before may have gone or come since."""
    index = rt.indexes.get(BY_NAMESPACE)
    return given if index is None else oldest(index.get(namespace))


def oldest(claims: Iterable[Any] | None) -> Any | None:
    """The claim that governs (see `seniority`), or None without any."""
    return min(claims, key=seniority) if claims else None


def seniority(value: Any) -> tuple[str, str]:
    """Orders rival claims on a namespace: the oldest Environment (then by name) governs it."""
    meta = (value.get("metadata") or {}) if isinstance(value, dict) else {}
    return (meta.get("creationTimestamp") or "", meta.get("name") or "")


def environment_named(rt: Runtime, name: str) -> dict[str, Any] | None:
    env = rt.kube.get_or_none(ENVIRONMENTS, name) if name else None
    return {"metadata": {"name": env["metadata"]["name"]}, "spec": env["spec"]} if env else None
