"""A Promotion's status, written only onto the Promotion as it was decided on.

"As decided on" is the same object (uid), spec (generation) and status. Not its
resourceVersion: Kopf's progress notes, written into its annotations after every retry of
this process or of another one, move that and change neither. Tested on the
resourceVersion, two processes retrying one Promotion refused each other's attempts in
turn for a minute."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain import pointer
from ..kube import PROMOTIONS, Conflict, Invalid, Kube, NotFound
from .common import RetryLater


def changed_since_read(meta: Mapping[str, Any]) -> RetryLater:
    return RetryLater(f"promotion {meta['name']} changed since it was read; deciding again")


def as_decided(current: Mapping[str, Any], promotion: Mapping[str, Any]) -> bool:
    """Whether `current` is the Promotion `promotion` was decided from, as far as a decision goes."""
    now, then = current["metadata"], promotion["metadata"]
    return (
        now["uid"] == then["uid"]
        and now.get("generation") == then.get("generation")
        and current.get("status") == promotion.get("status")
    )


def write_status(
    kube: Kube, promotion: Mapping[str, Any], fields: Mapping[str, Any], whole: bool = False
) -> Mapping[str, Any] | None:
    """Adds `fields` to the status of the Promotion as decided on. Returns the API server's
    answer (the whole Promotion with `whole`, else its metadata), or None if it was deleted,
    perhaps re-created under the same name (not ours to write to). RetryLater when it
    changed: the next attempt reads it again."""
    meta = promotion["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    tests = [
        {"op": "test", "path": "/metadata/uid", "value": meta["uid"]},
        {"op": "test", "path": "/metadata/generation", "value": meta.get("generation")},
        {"op": "test", "path": "/status", "value": promotion.get("status")},
    ]
    adds = [{"op": "add", "path": pointer.child("/status", key), "value": value} for key, value in fields.items()]
    try:
        return kube.json_patch(PROMOTIONS, name, tests + adds, namespace, subresource="status", metadata_only=not whole)
    except NotFound:
        return None
    except Invalid:  # a test failed, or there is no /status to add keys to
        current = kube.get_or_none(PROMOTIONS, name, namespace)
    if current is None or current["metadata"]["uid"] != meta["uid"]:
        return None
    if not as_decided(current, promotion):
        raise changed_since_read(meta)
    # Created before status had a schema default: the status is added whole.
    unchanged = [
        {"op": "test", "path": "/metadata/uid", "value": meta["uid"]},
        {"op": "test", "path": "/metadata/resourceVersion", "value": current["metadata"]["resourceVersion"]},
    ]
    try:
        return kube.json_patch(
            PROMOTIONS,
            name,
            [*unchanged, {"op": "add", "path": "/status", "value": dict(fields)}],
            namespace,
            subresource="status",
            metadata_only=not whole,
        )
    except (Conflict, Invalid):
        raise changed_since_read(meta) from None
    except NotFound:
        return None
