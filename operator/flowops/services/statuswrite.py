"""Status writes that cost the API server least: one PUT against the object as read."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..domain.mergepatch import apply_merge_patch
from ..kube import Conflict, Kube
from ..kube.resources import Resource


def write_status(
    kube: Kube, resource: Resource, obj: Mapping[str, Any], changes: Mapping[str, Any], put_only: Collection[str] = ()
) -> Mapping[str, Any] | None:
    """`changes` (a merge patch of status) applied to `obj` as read. While the object is
    at that resourceVersion its stored status is `obj`'s, so the merged whole goes out as a
    PUT; once it has changed, the merge patch is sent as it is, without the `put_only`
    fields (true of the object as read only). Returns the object as stored after a PUT
    (its new metadata and the status written), None after a patch."""
    meta = obj["metadata"]
    if meta.get("resourceVersion"):
        try:
            return replace_over(kube, resource, obj, changes)
        except Conflict:
            pass  # written meanwhile (another event of it is on its way): merged by the API server
    kube.patch_status(resource, meta["name"], {k: v for k, v in changes.items() if k not in put_only}, meta.get("namespace"))
    return None


def replace_over(kube: Kube, resource: Resource, obj: Mapping[str, Any], changes: Mapping[str, Any]) -> Mapping[str, Any]:
    """`changes` (a merge patch of status) as one PUT over `obj` as read, naming its
    resourceVersion: Conflict if it was written since. Returns the object as stored."""
    meta = obj["metadata"]
    status = apply_merge_patch(obj.get("status"), changes)
    written = kube.replace_status(resource, meta["name"], status, meta.get("namespace"), meta["resourceVersion"])
    return {**obj, "metadata": written["metadata"], "status": status}
