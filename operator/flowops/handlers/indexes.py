"""In-memory indexes, filled by Kopf before any handler runs. Values stay small: names
and states, never documents. Async: Kopf runs a sync index function in a handler thread,
once per indexed object at start-up (thousands of finished Promotions), ahead of the
handlers that do real work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from .. import names, runtime
from ..kube.resources import API_GROUP, API_VERSION
from ..services import environmentlookup, pins, promotionhistory, unfinishedpromotions


@kopf.index(API_GROUP, API_VERSION, "environments")
async def environments_by_namespace(name: str, spec: kopf.Spec, meta: kopf.Meta, **_: Any) -> dict[Any, Any]:
    # The creation time orders rival claims on a namespace: see `first`. Who last changed
    # the spec is kept for what a change of its values tells each client.
    metadata = {"name": name, "uid": meta.get("uid"), "creationTimestamp": meta.get("creationTimestamp")}
    writer = (meta.get("annotations") or {}).get(names.ANN_CHANGED_BY)
    if writer:
        metadata["annotations"] = {names.ANN_CHANGED_BY: writer}
    return {spec.get("namespace"): {"metadata": metadata, "spec": dict(spec)}}


@kopf.index(API_GROUP, API_VERSION, "environments")
async def environments_by_name(name: str, spec: kopf.Spec, status: kopf.Status, **_: Any) -> dict[str, Any]:
    counts = (status.get("flows"), status.get("outOfSync"))
    return {name: {"metadata": {"name": name}, "spec": dict(spec), "counts": counts}}


# What retention must spare, per flow: read by services/pins.py through Runtime.indexes.
@kopf.index(API_GROUP, API_VERSION, "apiclients", id=pins.APICLIENT_PINS)
async def apiclient_pins(namespace: str, spec: kopf.Spec, status: kopf.Status, **_: Any) -> dict[Any, Any]:
    return pins.client_pins(namespace, spec, status)


@kopf.index(API_GROUP, API_VERSION, "applications", id=pins.APPLICATION_PINS)
async def application_pins(namespace: str, spec: kopf.Spec, **_: Any) -> dict[Any, Any]:
    return pins.application_pins(namespace, spec)


@kopf.index(API_GROUP, API_VERSION, "promotions", id=pins.PROMOTION_PINS)
async def promotion_pins(namespace: str, name: str, spec: kopf.Spec, status: kopf.Status, **_: Any) -> dict[Any, Any]:
    return pins.promotion_pins(namespace, name, spec, status)


@kopf.index(API_GROUP, API_VERSION, "promotions", id=promotionhistory.INDEX)
async def finished_promotions(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    return promotionhistory.index_entry(body)


# What a binding whose flow or version is missing may wait for: unfinished ones only, a
# few among thousands of finished ones (services/unfinishedpromotions.py).
@kopf.index(API_GROUP, API_VERSION, "promotions", id=unfinishedpromotions.INDEX)
async def unfinished_promotions(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    return unfinishedpromotions.index_entry(body)


def environment_of_namespace(index: kopf.Index, namespace: str) -> dict[str, Any] | None:
    """The Environment managing `namespace`. Watch streams are not ordered across kinds, so
    an Environment applied a moment before its flows may not be indexed yet: ask the API
    server before concluding there is none."""
    found = first(index, namespace)
    return found if found is not None else environmentlookup.environment_of_namespace(runtime.current(), namespace)


def environment_named(index: kopf.Index, name: str) -> dict[str, Any] | None:
    found = first(index, name)
    return found if found is not None else environmentlookup.environment_named(runtime.current(), name)


def lookup_in(index: kopf.Index) -> Callable[[Any], Any | None]:
    """`first` in `index` alone, never the API: for lookups made in the event loop."""
    return lambda key: first(index, key)


def first(index: kopf.Index, key: Any) -> Any | None:
    """The oldest value under `key` (then by name): when two Environments claim one
    namespace (admission refuses the second, but a race can let both in) the older one
    governs it, the same one after every operator restart."""
    return environmentlookup.oldest(index.get(key))


def all_values(index: kopf.Index) -> list[Any]:
    return [value for key in list(index.keys()) for value in index.get(key, ())]
