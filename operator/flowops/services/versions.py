"""Reading and writing FlowVersions. Lists use metadata only: content is fetched per version."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import envsettings, names
from ..domain import history, storage
from ..domain.commit import VersionRecord
from ..kube import FLOWVERSIONS, Kube, NotFound
from ..lru import BoundedLRU


def record_of(obj: Mapping[str, Any]) -> VersionRecord:
    meta = obj["metadata"]
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    ready = labels.get(names.LABEL_READY)
    return VersionRecord(
        name=meta["name"],
        id=labels[names.LABEL_VERSION],
        number=int(labels[names.LABEL_NUMBER]),
        content_hash=annotations.get(names.ANN_CONTENT_HASH, ""),
        base=annotations.get(names.ANN_BASE) or None,
        ready=None if ready in (None, "unknown") else ready == "true",
        origin=annotations.get(names.ANN_ORIGIN, "Commit"),
        commit_request=annotations.get(names.ANN_COMMIT_REQUEST),
        promotion_uid=annotations.get(names.ANN_PROMOTION_UID),
        promotion_name=annotations.get(names.ANN_PROMOTION_NAME),
        promotion_spec_hash=annotations.get(names.ANN_PROMOTION_SPEC_HASH),
        rules_digest=annotations.get(names.ANN_RULES_DIGEST),
        guardrails=annotations.get(names.ANN_GUARDRAILS, ""),
        generation=_int_or_none(annotations.get(names.ANN_GENERATION)),
        field_manager=annotations.get(names.ANN_FIELD_MANAGER),
        reapplied=_int_or_none(annotations.get(names.ANN_REAPPLIED)) or 0,
        change_cause=annotations.get(names.ANN_CHANGE_CAUSE),
        flow_uid=annotations.get(names.ANN_FLOW_UID),
    )


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def list_records(kube: Kube, namespace: str, flow: str, owner_uid: str | None = None) -> list[VersionRecord]:
    """With owner_uid, only that Flow object's versions: a deleted namesake's versions
    linger until garbage collection and must not be used as HEAD or keyframes."""
    return list_history(kube, namespace, flow, owner_uid)[0]


def list_history(kube: Kube, namespace: str, flow: str, owner_uid: str | None = None) -> tuple[list[VersionRecord], int]:
    """list_records, and the highest number any FlowVersion of this flow name holds (a
    deleted namesake's too): its object name is taken, so the next number comes after it."""
    return history_of(list_items(kube, namespace, flow), owner_uid)


def list_items(kube: Kube, namespace: str, flow: str) -> list[dict[str, Any]]:
    """The metadata of every FlowVersion of this flow name (a deleted namesake's too)."""
    return kube.list(FLOWVERSIONS, namespace, label_selector=f"{names.LABEL_FLOW}={flow}", metadata_only=True)


def history_of(items: list[dict[str, Any]], owner_uid: str | None) -> tuple[list[VersionRecord], int]:
    """list_history of items listed before the owner's uid was known (read at the same time)."""
    numbered = _numbered(items)
    highest = max((_number(i) for i in numbered), default=0)
    records = sorted((record_of(i) for i in numbered if owned_by(i, owner_uid)), key=lambda r: r.number)
    return records, highest


def _numbered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if names.LABEL_NUMBER in (i["metadata"].get("labels") or {})]


def _number(item: Mapping[str, Any]) -> int:
    return int(item["metadata"]["labels"][names.LABEL_NUMBER])


def _flow_owners(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [o for o in obj["metadata"].get("ownerReferences") or [] if o.get("kind", "Flow") == "Flow"]


def is_foreign(kube: Kube, namespace: str, flow: str, name: str) -> bool:
    """Whether the object holding a version's name is no version of `flow` (read, not
    listed: a list may not show a version another writer has just made)."""
    obj = kube.get_or_none(FLOWVERSIONS, name, namespace)
    labels = (obj or {}).get("metadata", {}).get("labels") or {}
    return obj is not None and (labels.get(names.LABEL_FLOW) != flow or names.LABEL_NUMBER not in labels)


def newest_owner(items: list[dict[str, Any]]) -> str | None:
    """The Flow uid that owns the highest-numbered version among `items`; None when it has
    no owner (retained history) or there is none: a guess, for reads that start before
    the Flow's own uid is known."""
    newest = max(_numbered(items), key=_number, default=None)
    owners = _flow_owners(newest) if newest is not None else []
    return owners[0].get("uid") if owners else None


def owned_by(obj: Mapping[str, Any], owner_uid: str | None) -> bool:
    if owner_uid is None:
        return True
    owners = _flow_owners(obj)
    # Retained history (no owner, spec.deletionPolicy Retain) belongs to whichever Flow has the name now.
    return not owners or any(o.get("uid") == owner_uid for o in owners)


def version_name(flow: str, number: int) -> str:
    """The object name holds the number, so the API server refuses a second version with
    the same number (AlreadyExists) whichever process writes it. Zero-padded so names sort."""
    return f"{flow}-{number:05d}"


def read_version(kube: Kube, namespace: str, flow: str, record: VersionRecord) -> Any:
    """The document of a listed version."""
    return decode(kube, namespace, flow, kube.get(FLOWVERSIONS, record.name, namespace))


def get_by_id(kube: Kube, namespace: str, flow: str, version_id: str) -> Mapping[str, Any]:
    """The FlowVersion with this id (ids are labels; names hold numbers)."""
    items = kube.list(FLOWVERSIONS, namespace, label_selector=f"{names.LABEL_FLOW}={flow},{names.LABEL_VERSION}={version_id}")
    if not items:
        raise NotFound(404, "NotFound", f"flow {flow} has no version with id {version_id} in namespace {namespace}")
    return items[0]


def read_document(kube: Kube, namespace: str, flow: str, version_id: str) -> Any:
    return decode(kube, namespace, flow, get_by_id(kube, namespace, flow, version_id))


def decode(kube: Kube, namespace: str, flow: str, obj: Mapping[str, Any]) -> Any:
    """The version's document. A Delta's keyframe comes from the keyframe cache when it is
    there (read, unpacked and cached otherwise); the result shares parts with it: never mutate."""
    spec = obj["spec"]["storage"]
    stored = storage.StoredContent.from_spec(spec)
    if stored.encoding == "Full":
        return storage.decode(stored)
    key = (namespace, flow, stored.base or "")
    keyframe = keyframes().get(key)
    if keyframe is None:
        base = (
            kube.get(FLOWVERSIONS, version_name(flow, spec["baseNumber"]), namespace)
            if spec.get("baseNumber")
            else get_by_id(kube, namespace, flow, stored.base or "")
        )
        keyframe_stored = storage.StoredContent.from_spec(base["spec"]["storage"])
        keyframe = storage.decode(keyframe_stored)
        keyframes().put(key, keyframe, keyframe_stored)
    return storage.decode(stored, keyframe)


class _KeyframeCache:
    """Recently used keyframes by (namespace, flow, version id). Versions never change, so
    an entry is never stale. Two budgets keep memory flat however many flows there are:
    decoded documents (canonical JSON bytes) for the flows in use, and their stored,
    compressed form (a few times smaller) for many more, so a flow's next commit or read
    unpacks its keyframe instead of reading it from the API server."""

    def __init__(self, budget: int, packed_budget: int) -> None:
        self.budget = budget
        self.packed_budget = packed_budget
        # key -> (document, canonical JSON bytes, stored data bytes)
        self._decoded: BoundedLRU[tuple[str, str, str], tuple[Any, int, int]] = BoundedLRU(
            max_cost=budget, cost=lambda entry: entry[1]
        )
        self._packed: BoundedLRU[tuple[str, str, str], storage.StoredContent] = BoundedLRU(
            max_cost=packed_budget, cost=lambda stored: len(stored.data)
        )

    def get(self, key: tuple[str, str, str]) -> Any | None:
        found = self.get_sized(key)
        return found[0] if found is not None else None

    def get_sized(self, key: tuple[str, str, str]) -> tuple[Any, int] | None:
        """(document, size of its stored data)."""
        entry = self._decoded.get(key)
        if entry is not None:
            return entry[0], entry[2]
        packed = self._packed.get(key)
        if packed is None:
            return None
        document = storage.decode(packed)
        self._keep_decoded(key, document, packed.bytes, len(packed.data))
        return document, len(packed.data)

    def put(self, key: tuple[str, str, str], document: Any, stored: storage.StoredContent) -> None:
        self._keep_decoded(key, document, stored.bytes, len(stored.data))
        if len(stored.data) <= self.packed_budget // 4:
            self._packed.add(key, stored)

    def _keep_decoded(self, key: tuple[str, str, str], document: Any, size: int, data_bytes: int) -> None:
        if size <= self.budget // 4:  # one large flow must not evict everything else
            self._decoded.add(key, (document, size, data_bytes))


@functools.cache
def keyframes() -> _KeyframeCache:
    """The process's keyframe cache, sized from the environment when first used: importing
    this module (the CLI does) reads no setting."""
    return _KeyframeCache(
        budget=envsettings.integer("FLOWOPS_KEYFRAME_CACHE_BYTES"),
        packed_budget=envsettings.integer("FLOWOPS_PACKED_KEYFRAME_CACHE_BYTES"),
    )


@dataclass(frozen=True)
class Keyframe:
    record: VersionRecord
    document: Any
    data_bytes: int  # its stored (compressed) size


def keyframe_for(
    kube: Kube, namespace: str, flow: str, latest: VersionRecord | None, records: list[VersionRecord]
) -> Keyframe | None:
    """The Full version the next Delta should be against: the newest version's keyframe."""
    if latest is None:
        return None
    keyframe_id = latest.base or latest.id
    record = next((r for r in records if r.id == keyframe_id), None)
    if record is None:
        return None
    key = (namespace, flow, keyframe_id)
    cached = keyframes().get_sized(key)
    if cached is not None:
        return Keyframe(record, *cached)
    obj = kube.get_or_none(FLOWVERSIONS, record.name, namespace)
    if obj is None or obj["spec"]["storage"]["encoding"] != "Full":
        return None
    stored = storage.StoredContent.from_spec(obj["spec"]["storage"])
    document = storage.decode(stored)
    keyframes().put(key, document, stored)
    return Keyframe(record, document, len(stored.data))


def encode(
    document: Any, keyframe: Keyframe | None, raw: bytes | None = None, size: int | None = None
) -> tuple[storage.StoredContent, int | None]:
    """The stored form, and the keyframe's number when it is a Delta (names its object)."""
    base = (keyframe.record.id, keyframe.document, keyframe.data_bytes) if keyframe else None
    stored = storage.encode(document, base, raw=raw, size=size)
    return stored, keyframe.record.number if keyframe and stored.base else None


PROVENANCE_KEYS = ("requestedBy", "approvedBy", "comment", "name", "namespace", "uid", "specHash", "plan")


def build(
    *,
    flow: Mapping[str, Any],
    version_id: str,
    number: int,
    content_hash: str,
    stored: storage.StoredContent,
    message: str,
    origin: str,
    parent: str | None,
    commit_request: str | None = None,
    promotion: Mapping[str, Any] | None = None,
    base_number: int | None = None,
    change_cause: str | None = None,
    applied_by: Mapping[str, str] | None = None,
    changed_by: str | None = None,
) -> dict[str, Any]:
    meta = flow["metadata"]
    spec: dict[str, Any] = {
        "flow": meta["name"],
        "id": version_id,
        "number": number,
        "contentHash": content_hash,
        "message": message[:4096],
        "transition": (flow.get("spec") or {}).get("transition", "RestartInProgress"),
        "origin": origin,
        "storage": {**stored.to_spec(), **({"baseNumber": base_number} if base_number else {})},
    }
    if parent:
        spec["parent"] = parent
    annotations = {names.ANN_CONTENT_HASH: content_hash, names.ANN_ORIGIN: origin}
    if meta.get("generation"):
        annotations[names.ANN_GENERATION] = str(meta["generation"])
        if meta.get("uid"):
            annotations[names.ANN_FLOW_UID] = str(meta["uid"])
    if stored.base:
        annotations[names.ANN_BASE] = stored.base
    if commit_request:
        annotations[names.ANN_COMMIT_REQUEST] = commit_request
    if change_cause:
        annotations[names.ANN_CHANGE_CAUSE] = change_cause[:1024]
    if applied_by:
        spec["appliedBy"] = dict(applied_by)
    if changed_by:
        spec["changedBy"] = changed_by[:512]
    if promotion:
        annotations[names.ANN_PROMOTION_UID] = str(promotion["uid"])
        spec["source"] = {
            key: str(promotion[src])
            for key, src in (
                ("environment", "sourceEnvironment"),
                ("flow", "sourceFlow"),
                ("version", "sourceVersion"),
                ("promotion", "name"),
            )
            if promotion.get(src)
        }
        if promotion.get("specHash"):
            annotations[names.ANN_PROMOTION_NAME] = str(promotion.get("name") or "")
            annotations[names.ANN_PROMOTION_SPEC_HASH] = str(promotion["specHash"])
        # Who asked, who approved, why and what: the audit outlives the Promotion object.
        spec["provenance"] = {key: promotion[key] for key in PROVENANCE_KEYS if promotion.get(key)}
    return {
        "apiVersion": FLOWVERSIONS.api_version,
        "kind": FLOWVERSIONS.kind,
        "metadata": {
            "name": version_name(meta["name"], number),
            "namespace": meta["namespace"],
            "labels": {
                names.LABEL_FLOW: meta["name"],
                names.LABEL_VERSION: version_id,
                names.LABEL_NUMBER: str(number),
                names.LABEL_READY: "unknown",
            },
            "annotations": annotations,
            # Owned (deleted with the Flow) only under spec.deletionPolicy Delete.
            "ownerReferences": history.owner_references(history.policy_of(flow.get("spec")), flow),
        },
        "spec": spec,
    }


SUMMARY_LIMIT = 2000


def verdict_metadata(ready: bool, summary: str, rules_digest: str) -> dict[str, Any]:
    return {
        "labels": {names.LABEL_READY: "true" if ready else "false"},
        "annotations": {names.ANN_RULES_DIGEST: rules_digest, names.ANN_GUARDRAILS: summary[:SUMMARY_LIMIT]},
    }


def verdict_status(ready: bool, results: list[dict], rules_digest: str) -> dict[str, Any]:
    return {"ready": ready, "guardrails": results, "rulesHash": rules_digest}


def set_guardrail_result(
    kube: Kube, namespace: str, name: str, ready: bool, summary: str, results: list[dict], rules_digest: str
) -> None:
    """A verdict made again (other rules): status, labels and annotations in one write."""
    body = {"metadata": verdict_metadata(ready, summary, rules_digest), "status": verdict_status(ready, results, rules_digest)}
    kube.merge_patch(FLOWVERSIONS, name, body, namespace, metadata_only=True)


def provenance_annotation(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))
