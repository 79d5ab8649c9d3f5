"""In-memory indexes, filled by Kopf before any handler runs."""

from __future__ import annotations

from typing import Any

import kopf

from ..kube import API_GROUP, API_VERSION


@kopf.index(API_GROUP, API_VERSION, "environments")
def environments_by_namespace(name: str, spec: kopf.Spec, **_: Any) -> dict[str, Any]:
    return {spec.get("namespace"): {"metadata": {"name": name}, "spec": dict(spec)}}


@kopf.index(API_GROUP, API_VERSION, "environments")
def environments_by_name(name: str, spec: kopf.Spec, **_: Any) -> dict[str, Any]:
    return {name: {"metadata": {"name": name}, "spec": dict(spec)}}


def first(index: kopf.Index, key: Any) -> Any | None:
    store = index.get(key)
    if not store:
        return None
    return next(iter(store), None)
