"""Defence in depth for protected environments.

If a protected Flow's content changes without a Promotion (the admission policy was
removed, or someone exempt edited it), the edit is kept as a Quarantine version (never
HEAD, retrievable) and the last committed content is written back. The same edit coming
back (a GitOps tool re-applying it every interval) makes no new version: it is counted
on the quarantined one and stalls the flow, naming the writer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .. import metrics, names
from ..domain import changemessage, conditions, storage
from ..domain import commit as commits
from ..domain.canonical import content_hash
from ..domain.commit import VersionRecord
from ..domain.versionid import next_version_id
from ..kube import FLOWS, FLOWVERSIONS, AlreadyExists, Conflict, Kube
from ..runtime import Runtime
from . import versions
from .common import Outcome, Poster, RetryLater, rfc3339
from .statuswrite import write_status

# Rounds of "number taken by another writer" before giving up (the handler retries).
_ATTEMPTS = 8


def restore(
    rt: Runtime,
    flow: Mapping[str, Any],
    env: Mapping[str, Any] | None,
    records: list[VersionRecord],
    document: Any,
    digest: str,
    post: Poster,
) -> Outcome:
    kube = rt.kube
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    latest = commits.latest_of(records)
    assert latest is not None
    writer = field_manager(rt, flow)
    previous_edit = commits.open_quarantine(records)
    if previous_edit is not None and previous_edit.content_hash == digest:
        # Back after its revert (a newer generation), or this very edit once more (a retry
        # after a crash or a failed write): only the first counts as re-applied.
        again = (meta.get("generation") or 0) > (previous_edit.generation or 0)
        quarantine = _count_again(rt, flow, previous_edit, writer, records) if again else previous_edit
    else:
        quarantine = _quarantine(rt, flow, document, digest, records, latest, writer)
    restored = versions.read_version(kube, namespace, name, latest)
    env_name = ((env or {}).get("metadata") or {}).get("name", "?")
    message = (
        f"direct edit of protected flow by {_who(meta, writer)} reverted to version {latest.number} ({latest.id}); "
        f"the edited content is kept as version {quarantine.number} ({quarantine.id}, origin Quarantine). "
        f"Environment {env_name} accepts changes only through Promotions."
    )
    post(flow, "Warning", "Tampered", message)
    now = rfc3339(rt.clock())
    generation = meta.get("generation")
    previous = flow.get("status") or {}
    desired = [conditions.condition("Tampered", True, "DirectEditReverted", message, generation)]
    drop: list[str] = []
    loop = commits.tamper_loop(records)
    if loop:
        post(flow, "Warning", "TamperLoop", loop)
        summary, drop = conditions.summary(False, "TamperLoop", loop, generation, stalled=loop)
        desired += summary
    tampered_conditions = conditions.merge(previous.get("conditions"), desired, now, drop=drop)
    status: dict[str, Any] = {
        "tampered": {
            "time": now,
            "quarantinedVersion": quarantine.id,
            "restoredVersion": latest.id,
            "fieldManager": writer or "",
            "reapplied": quarantine.reapplied,
        },
        "conditions": tampered_conditions,
        "versionCount": len(records),
    }
    stored = _revert(kube, meta, status, restored)
    if stored is None:
        return Outcome(dict(previous), None)
    stalled = commits.altered_restore(latest, content_hash((stored.get("spec") or {}).get("content") or {}))
    if stalled:
        # No later event says so: a restore the API server alters the same way changes nothing.
        summary, drop = conditions.summary(
            False, "ContentAltered", stalled, stored["metadata"].get("generation"), stalled=stalled
        )
        merged = conditions.merge(tampered_conditions, summary, now, drop=drop)
        if not conditions.same(previous.get("conditions"), merged):
            post(flow, "Warning", "ContentAltered", stalled)
        note_altered(kube, stored, merged)
        status["conditions"] = merged
    return Outcome({**previous, **status}, None)


def note_altered(kube: Kube, reverted: Mapping[str, Any], conditions: list[dict[str, Any]]) -> None:
    """`conditions` (saying the restored content was altered) onto the Flow as the revert
    left it (`reverted`, as stored): only while its spec and conditions are still those,
    or the conditions of a newer decision would go back to these."""
    write_status(kube, FLOWS, reverted, {"conditions": conditions}, guard=("/metadata/generation", "/status/conditions"))


def _revert(kube: Kube, meta: Mapping[str, Any], status: dict[str, Any], restored: Any) -> dict[str, Any] | None:
    """The Tampered status, then the old HEAD's content, as stored (None: not written).
    Each write names the version it was decided from: another process may have restored
    this edit or landed a Promotion since, and the older HEAD must not go back over that.
    Refused, and the Flow's spec moved since (its generation): nothing more is written; the
    event of that change reaches this process too, and is decided on its own. Refused, and
    only its status or metadata moved (a sync report, Kopf's bookkeeping, this revert's own
    note that the content was altered): the decision stands and is written again."""
    namespace, name = meta["namespace"], meta["name"]
    version = meta.get("resourceVersion")
    for _ in range(_REVERT_ATTEMPTS):
        try:
            written = kube.patch_status(FLOWS, name, status, namespace, resource_version=version)
            # Content last: the reconcile of the restored generation sees Tampered and clears it.
            # A JSON Patch replace, not a merge patch: keys the edit added must go too.
            return kube.json_patch(
                FLOWS,
                name,
                [
                    {"op": "replace", "path": "/metadata/resourceVersion", "value": written["metadata"]["resourceVersion"]},
                    {"op": "replace", "path": "/spec/content", "value": restored},
                ],
                namespace,
            )
        except Conflict:
            current = kube.get_metadata(FLOWS, name, namespace)
            if current is None or current["metadata"].get("generation") != meta.get("generation"):
                return None
            version = current["metadata"]["resourceVersion"]
    raise RetryLater(f"flow {namespace}/{name}: its status kept being written while its direct edit was reverted; retrying")


# Writes refused while only the Flow's status or metadata moved, before the handler retries.
_REVERT_ATTEMPTS = 3


def _who(meta: Mapping[str, Any], manager: str | None) -> str:
    """The user the API server recorded as the spec's last writer, and the field manager
    the client named itself (which anyone can choose)."""
    user = changemessage.changed_by(meta)
    if user and manager:
        return f"{user} (field manager {manager})"
    return user or manager or "an unknown writer"


def field_manager(rt: Runtime, flow: Mapping[str, Any]) -> str | None:
    """Who last wrote spec.content, other than the operator: read from managedFields."""
    meta = flow["metadata"]
    entries = meta.get("managedFields")
    if entries is None:  # a body without them (some clients strip them): read the object
        current = rt.kube.get_or_none(FLOWS, meta["name"], meta["namespace"])
        entries = ((current or {}).get("metadata") or {}).get("managedFields") or []
    writers = [
        e
        for e in entries
        if e.get("manager") != names.FIELD_MANAGER and "f:content" in ((e.get("fieldsV1") or {}).get("f:spec") or {})
    ]
    newest = max(writers, key=lambda e: e.get("time") or "", default=None)
    if newest is None:
        return None
    return f"{newest.get('manager') or 'unnamed'} ({newest.get('operation') or 'Update'})"


def _count_again(
    rt: Runtime, flow: Mapping[str, Any], edit: VersionRecord, writer: str | None, records: list[VersionRecord]
) -> VersionRecord:
    """The same edit is back after it was reverted: no new version, one more on its count
    and the generation it came back in."""
    meta = flow["metadata"]
    namespace = meta["namespace"]
    again = dataclasses.replace(
        edit, reapplied=edit.reapplied + 1, field_manager=writer or edit.field_manager, generation=meta.get("generation")
    )
    annotations = {names.ANN_REAPPLIED: str(again.reapplied), names.ANN_GENERATION: str(again.generation or "")}
    if again.field_manager:
        annotations[names.ANN_FIELD_MANAGER] = again.field_manager
    rt.kube.merge_patch(FLOWVERSIONS, edit.name, {"metadata": {"annotations": annotations}}, namespace, metadata_only=True)
    records[:] = [again if r.name == edit.name else r for r in records]
    return again


def _quarantine(
    rt: Runtime,
    flow: Mapping[str, Any],
    document: Any,
    digest: str,
    records: list[VersionRecord],
    latest: VersionRecord,
    writer: str | None,
) -> VersionRecord:
    kube = rt.kube
    meta = flow["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    try:
        stored, base_number = versions.encode(document, versions.keyframe_for(kube, namespace, name, latest, records))
    except storage.DocumentTooLarge:
        stored, base_number = storage.encode({"note": "the edited document was too large to keep"}), None
    next_free = 0
    for _ in range(_ATTEMPTS):
        number = max(next_free, max(r.number for r in records) + 1)
        version_id = next_version_id(rt.clock(), max(r.id for r in records))
        body = versions.build(
            flow=flow,
            version_id=version_id,
            number=number,
            content_hash=digest,
            stored=stored,
            message="direct edit of a protected flow, reverted by the operator",
            origin="Quarantine",
            parent=latest.id,
            base_number=base_number,
            changed_by=changemessage.changed_by(flow["metadata"]),
        )
        body["metadata"]["labels"][names.LABEL_READY] = "false"
        if writer:
            body["metadata"]["annotations"][names.ANN_FIELD_MANAGER] = writer
        try:
            kube.create(FLOWVERSIONS, body, namespace, metadata_only=True)
            metrics.version_created(namespace, "Quarantine", head=False)
            record = dataclasses.replace(versions.record_of(body), ready=False)
            records.append(record)
            return record
        except AlreadyExists:
            # Another writer took the number; it may have quarantined this very edit.
            records[:], highest = versions.list_history(kube, namespace, name, owner_uid=meta.get("uid"))
            next_free = highest + 1
            same = commits.open_quarantine(records)
            if same is not None and same.content_hash == digest:
                return same
    raise RuntimeError(f"flow {namespace}/{name}: version numbers kept being taken by other writers; retrying")
