"""Defence in depth for protected environments.

If a protected Flow's content changes without a Promotion (the admission policy was
removed, or someone exempt edited it), the edit is kept as a Quarantine version (never
HEAD, retrievable) and the last committed content is written back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from .. import metrics, names
from ..domain import commit as commits
from ..domain import conditions, storage
from ..domain.commit import VersionRecord
from ..domain.versionid import next_version_id
from ..kube import FLOWS, FLOWVERSIONS, AlreadyExists
from ..runtime import Runtime
from . import versions


def restore(rt: Runtime, flow: Mapping[str, Any], env: Mapping[str, Any] | None, records: list[VersionRecord],
            document: Any, digest: str, post: Callable[[Mapping[str, Any], str, str, str], None]) -> Any:
    from .flows import Outcome, rfc3339  # shared helpers; flows imports this module lazily

    kube = rt.kube
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    latest = commits.latest_of(records)
    assert latest is not None
    quarantine = _quarantine(rt, flow, document, digest, records, latest)
    restored = versions.read_version(kube, namespace, name, latest)
    env_name = ((env or {}).get("metadata") or {}).get("name", "?")
    message = (
        f"direct edit of protected flow reverted to version {latest.number} ({latest.id}); the edited content is kept "
        f"as version {quarantine.number} ({quarantine.id}, origin Quarantine). Environment {env_name} accepts changes "
        "only through Promotions."
    )
    post(flow, "Warning", "Tampered", message)
    now = rfc3339(rt.clock())
    previous = flow.get("status") or {}
    tampered = conditions.condition("Tampered", True, "DirectEditReverted", message, meta.get("generation"))
    status = {
        "tampered": {"time": now, "quarantinedVersion": quarantine.id, "restoredVersion": latest.id},
        "conditions": conditions.merge(previous.get("conditions"), [tampered], now),
        "versionCount": len(records) + 1,
    }
    kube.patch_status(FLOWS, name, status, namespace)
    # Content last: the reconcile of the restored generation sees Tampered and clears it.
    # A JSON Patch replace, not a merge patch: keys the edit added must go too.
    kube.json_patch(FLOWS, name, [{"op": "replace", "path": "/spec/content", "value": restored}], namespace)
    return Outcome({**previous, **status}, None)


def _quarantine(rt: Runtime, flow: Mapping[str, Any], document: Any, digest: str, records: list[VersionRecord],
                latest: VersionRecord) -> VersionRecord:
    kube = rt.kube
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    try:
        stored, base_number = versions.encode(document, versions.keyframe_for(kube, namespace, name, latest, records))
    except storage.DocumentTooLarge:
        stored, base_number = storage.encode({"note": "the edited document was too large to keep"}), None
    next_free = 0
    for _ in range(8):
        number = max(next_free, max(r.number for r in records) + 1)
        version_id = next_version_id(rt.clock(), max(r.id for r in records))
        body = versions.build(
            flow=flow, version_id=version_id, number=number, content_hash=digest, stored=stored,
            message="direct edit of a protected flow, reverted by the operator", origin="Quarantine", parent=latest.id,
            base_number=base_number,
        )
        body["metadata"]["labels"][names.LABEL_READY] = "false"
        try:
            kube.create(FLOWVERSIONS, body, namespace)
            metrics.version_created(namespace, "Quarantine", head=False)
            record = versions.record_of(body)
            records.append(record)
            return dataclasses.replace(record, ready=False)
        except AlreadyExists:
            # Another writer took the number; it may have quarantined this very edit.
            records[:], highest = versions.list_history(kube, namespace, name, owner_uid=meta.get("uid"))
            next_free = highest + 1
            same = next((r for r in reversed(records) if r.origin == "Quarantine" and r.content_hash == digest and r.number > latest.number), None)
            if same is not None:
                return same
    raise RuntimeError(f"flow {namespace}/{name}: version numbers kept being taken by other writers; retrying")
