"""Status writes that cost the API server least: one PUT against the object as read."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..domain import guardedpatch
from ..domain.mergepatch import apply_merge_patch
from ..kube import Conflict, Invalid, Kube
from ..kube.resources import Resource
from .common import RetryLater


def write_status(
    kube: Kube,
    resource: Resource,
    obj: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    guard: Collection[str],
    put_only: Collection[str] = (),
) -> Mapping[str, Any] | None:
    """`changes` (a merge patch of status) applied to `obj` as read. While the object is
    at that resourceVersion its stored status is `obj`'s, so the merged whole goes out as a
    PUT. Once it has changed (most often only in metadata: Kopf's notes of what it handled),
    the changes go out as a JSON Patch, without the `put_only` fields (true of the object as
    read only), and only onto the same object (uid) still holding, at each of the pointers
    in `guard`, its value as read: what the changes were computed from. Where one has moved,
    another writer has acted on a newer view, and this one's changes would undo its work:
    nothing is written, and RetryLater says to decide again from the object as it is now.
    Returns the object as stored after a PUT (its new metadata and the status written),
    None after a patch."""
    meta = obj["metadata"]
    if meta.get("resourceVersion"):
        try:
            return replace_over(kube, resource, obj, changes)
        except Conflict:
            pass  # written meanwhile: the patch below holds what this write rests on
    fields = {k: v for k, v in changes.items() if k not in put_only}
    if not fields:
        return None
    if patch_over(kube, resource, obj, fields, guard):
        return None
    name, namespace = meta["name"], meta.get("namespace")
    where = f"{namespace}/{name}" if namespace else name
    raise RetryLater(f"{resource.kind} {where} changed since it was read; deciding its status again")


def patch_over(
    kube: Kube, resource: Resource, obj: Mapping[str, Any], changes: Mapping[str, Any], guard: Collection[str]
) -> bool:
    """`changes` (a merge patch of status) as a JSON Patch onto the same object (uid) still
    holding, at each pointer in `guard`, its value in `obj`. False when it moved there:
    nothing was written."""
    meta = obj["metadata"]
    tests = guardedpatch.tests_as_read(obj, ("/metadata/uid", *guard))
    if tests is None:
        return False
    ops = tests + guardedpatch.merge_ops(obj, "/status", changes)
    try:
        kube.json_patch(resource, meta["name"], ops, meta.get("namespace"), "status", metadata_only=True)
    except Invalid:  # a test failed: the object moved in what the changes rest on
        return False
    return True


def replace_over(kube: Kube, resource: Resource, obj: Mapping[str, Any], changes: Mapping[str, Any]) -> Mapping[str, Any]:
    """`changes` (a merge patch of status) as one PUT over `obj` as read, naming its
    resourceVersion: Conflict if it was written since. Returns the object as stored."""
    meta = obj["metadata"]
    status = apply_merge_patch(obj.get("status"), changes)
    written = kube.replace_status(resource, meta["name"], status, meta.get("namespace"), meta["resourceVersion"])
    return {**obj, "metadata": written["metadata"], "status": status}
