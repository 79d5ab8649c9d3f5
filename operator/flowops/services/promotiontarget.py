"""A Promotion's write of its target Flow: the content and the provenance in one request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import names
from ..domain.promotion import TargetWrite
from ..kube import FLOWS, AlreadyExists, Conflict, Kube
from . import versions

# A PUT meets another write of the Flow's metadata (its bookkeeping) only now and then.
_ATTEMPTS = 5


class TargetChanged(Exception):
    """The target's spec changed after the promotion read it: plan again."""


def write(kube: Kube, namespace: str, target: TargetWrite, current: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """Writes `target` over `current` (the Flow as read when planning; None if it had none)
    and returns the Flow as stored (whole: an admission policy may have altered the
    content), and whether it was written over `current` itself (no other write between).
    A PUT rather than a patch: the API server merges no document of hundreds of
    KB into the stored one (a 255 KB Flow: 33 ms against 49 ms).
    The PUT names the resourceVersion read; when only metadata moved since (the
    operator's bookkeeping), it is read again and retried. TargetChanged when the spec
    did: another writer's content, which this write must not silently replace."""
    record = versions.provenance_annotation(target.provenance)
    created_meanwhile = False
    if current is None:
        body = {
            "apiVersion": FLOWS.api_version,
            "kind": FLOWS.kind,
            # Content only: the source's labels and annotations (GitOps tracking among them) stay behind.
            "metadata": {"name": target.flow, "namespace": namespace, "annotations": {names.ANN_PROMOTION: record}},
            "spec": {"content": target.document, "transition": target.transition},
        }
        try:
            return kube.create(FLOWS, body, namespace), True
        except AlreadyExists:  # created by an attempt that crashed before recording it
            current, created_meanwhile = kube.get(FLOWS, target.flow, namespace), True
    # The Flow planned over: the same one (a Flow re-created under its name may be at the same
    # generation) with the same spec.
    planned = (current["metadata"].get("uid"), current["metadata"].get("generation"))
    for attempt in range(_ATTEMPTS):
        metadata = {k: v for k, v in current["metadata"].items() if k != "managedFields"}
        metadata["annotations"] = {**(metadata.get("annotations") or {}), names.ANN_PROMOTION: record}
        spec = {**(current.get("spec") or {}), "content": target.document}
        body = {"apiVersion": FLOWS.api_version, "kind": FLOWS.kind, "metadata": metadata, "spec": spec}
        try:
            return kube.replace(FLOWS, target.flow, body, namespace), attempt == 0 and not created_meanwhile
        except Conflict:
            current = kube.get(FLOWS, target.flow, namespace)
            if (current["metadata"].get("uid"), current["metadata"].get("generation")) != planned:
                raise TargetChanged(f"target flow {target.flow} was changed after the promotion read it") from None
    raise TargetChanged(f"target flow {target.flow} kept changing while the promotion wrote it")
