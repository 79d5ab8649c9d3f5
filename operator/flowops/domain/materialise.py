"""The ConfigMap `<apiclient>-flow` that hands a resolved flow to workloads (pure).

What a ConfigMap holds is summarised by a Fingerprint kept in one small annotation, so
"does it need rewriting" is answered from metadata alone: workloads watching the
ConfigMap see a write exactly when the binding changed, never otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .. import names
from . import values
from .canonical import canonical_json, hash_of_canonical

__all__ = [
    "ANN_BINDING",
    "DATA_LIMIT_BYTES",
    "Fingerprint",
    "build",
    "configmap_name",
    "data_for",
    "data_bytes",
    "fingerprint_of",
    "ownership",
    "size_problem",
    "up_to_date",
    "values_rerendered",
]

ANN_BINDING = f"{names.PREFIX}/binding"
KEY_DOCUMENT = "flow.json"
KEY_VALUES = "values.json"
# The API server refuses a ConfigMap whose data exceeds 1 MiB (the Secret limit).
DATA_LIMIT_BYTES = 1024 * 1024
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Fingerprint:
    """The binding a ConfigMap holds. Versions are immutable, so (flow, version,
    contentHash) identifies the stored content, and `values` (name, digest) the
    environment values it was rendered with; transition is carried for the status."""

    flow: str
    version: str
    number: int
    contentHash: str
    transition: str
    values: tuple[tuple[str, str], ...] = ()

    def to_annotation(self) -> str:
        record = asdict(self)
        if self.values:
            record["values"] = dict(self.values)
        else:
            del record["values"]  # as written before values existed: no rewrite on upgrade
        return json.dumps(record, sort_keys=True, separators=(",", ":"))

    @property
    def rendered_with(self) -> dict[str, str]:
        return dict(self.values)

    @classmethod
    def from_annotation(cls, text: str | None) -> Fingerprint | None:
        if not text:
            return None
        try:
            raw = json.loads(text)
            return cls(
                flow=str(raw["flow"]),
                version=str(raw["version"]),
                number=int(raw["number"]),
                contentHash=str(raw["contentHash"]),
                transition=str(raw["transition"]),
                values=tuple(sorted((str(k), str(v)) for k, v in (raw.get("values") or {}).items())),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # someone edited it: treat as unknown content, so it is rewritten

    def describe(self) -> str:
        return f"flow {self.flow} version {self.number} ({self.version})"


def values_rerendered(held: Fingerprint | None, written: Fingerprint, environment: str, who: str | None) -> str | None:
    """What a client is told when its ConfigMap was rewritten for a change of values alone
    (the same version, other values): the names of the values, never their contents, and
    who changed the Environment. None when the version changed (a BindingChanged)."""
    if held is None or (held.flow, held.version, held.contentHash) != (written.flow, written.version, written.contentHash):
        return None
    before, after = held.rendered_with, written.rendered_with
    changed = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
    if not changed:
        return None
    return (
        f"spec.values {', '.join(changed)} of Environment {environment} changed by {who or 'an unrecorded writer'}: "
        f"re-rendered {written.describe()} with the new values (no new version)"
    )


def configmap_name(client: str) -> str:
    return f"{client}-flow"


def fingerprint_of(configmap_metadata: Mapping[str, Any] | None) -> Fingerprint | None:
    if not configmap_metadata:
        return None
    return Fingerprint.from_annotation((configmap_metadata.get("annotations") or {}).get(ANN_BINDING))


def up_to_date(existing: Fingerprint | None, flow: str, version: str, content_hash: str) -> bool:
    """True when the ConfigMap already holds this version: no need to read the document."""
    return (
        existing is not None
        and bool(content_hash)
        and (existing.flow, existing.version, existing.contentHash) == (flow, version, content_hash)
    )


def ownership(
    configmap_metadata: Mapping[str, Any] | None, client_name: str, client_uid: str
) -> Literal["absent", "ours", "stale", "foreign"]:
    """Whose ConfigMap it is: ours; a deleted namesake client's (garbage collection would
    remove it, so it may be replaced); or someone else's (never overwritten)."""
    if configmap_metadata is None:
        return "absent"
    owners = [o for o in configmap_metadata.get("ownerReferences") or [] if o.get("kind") == "ApiClient"]
    if any(o.get("uid") == client_uid for o in owners):
        return "ours"
    labels = configmap_metadata.get("labels") or {}
    if labels.get(names.LABEL_MATERIALISED) == "true" and any(o.get("name") == client_name for o in owners):
        return "stale"
    return "foreign"


def data_for(fingerprint: Fingerprint, document_json: str, used_values: Mapping[str, str] | None = None) -> dict[str, str]:
    """`document_json` is the rendered document; `used_values` the values rendered into it."""
    data = {
        KEY_DOCUMENT: document_json,
        "flow": fingerprint.flow,
        "version": fingerprint.version,
        "number": str(fingerprint.number),
        "transition": fingerprint.transition,
        "contentHash": fingerprint.contentHash,
    }
    if used_values:
        data[KEY_VALUES] = json.dumps(dict(sorted(used_values.items())), separators=(",", ":"), ensure_ascii=False)
    return data


def data_bytes(data: Mapping[str, str], document_bytes: int | None = None) -> int:
    """`document_bytes`: the document's UTF-8 length when known (not encoded again)."""
    return sum(
        len(k.encode()) + (document_bytes if k == KEY_DOCUMENT and document_bytes is not None else len(v.encode()))
        for k, v in data.items()
    )


# How many of the values that grew a document too large a refusal names.
LISTED_GROWN = 3


def size_problem(
    fingerprint: Fingerprint,
    data: Mapping[str, str],
    document_bytes: int | None = None,
    rendering: Rendering | None = None,
) -> str | None:
    """Why `data` cannot be a ConfigMap (None: it can). With the `rendering` it holds, a
    document that values grew past the limit names the values to shorten."""
    size = data_bytes(data, document_bytes)
    if size <= DATA_LIMIT_BYTES:
        return None
    head = f"{fingerprint.describe()} is {size:,} bytes as JSON, more than a ConfigMap holds ({DATA_LIMIT_BYTES:,} bytes)"
    smaller = "make the flow smaller (for example split it into several flows)"
    grown = {name: added for name, added in (rendering.growth if rendering else {}).items() if added > 0}
    if rendering is None or not grown:
        return f"{head}: {smaller}"
    # values.json holds each value used once more.
    from_values = sum(grown.values()) + len(data.get(KEY_VALUES, "").encode())
    biggest = sorted(grown.items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{name} (+{added:,} bytes)" for name, added in biggest[:LISTED_GROWN])
    more = len(biggest) - LISTED_GROWN
    fix = "shorten those values (or reference them in fewer places)"
    return (
        f"{head}: the stored document is {rendering.stored_bytes:,} bytes and {rendering.text_bytes:,} "
        f"rendered with the environment's values, which grew it most: {named}"
        f"{f' and {more} more' if more > 0 else ''}; "
        + (fix if size - from_values <= DATA_LIMIT_BYTES else f"{smaller} and {fix}")
    )


def _label(value: str) -> str | None:
    return value if len(value) <= 63 and _LABEL_VALUE.match(value) else None


def build(
    client: Mapping[str, Any],
    fingerprint: Fingerprint,
    data: Mapping[str, str],
    existing_metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The full ConfigMap; labels and annotations others added to it are kept."""
    meta = client["metadata"]
    existing_metadata = existing_metadata or {}
    ours = {
        names.LABEL_APICLIENT: _label(meta["name"]),
        names.LABEL_FLOW: _label(fingerprint.flow),
        names.LABEL_VERSION: fingerprint.version,
        names.LABEL_MATERIALISED: "true",
    }
    labels = {**(existing_metadata.get("labels") or {}), **{k: v for k, v in ours.items() if v is not None}}
    annotations = {**(existing_metadata.get("annotations") or {}), ANN_BINDING: fingerprint.to_annotation()}
    metadata: dict[str, Any] = {
        "name": configmap_name(meta["name"]),
        "namespace": meta["namespace"],
        "labels": labels,
        "annotations": annotations,
        # Deleting the ApiClient deletes its ConfigMap (garbage collection).
        "ownerReferences": [
            {
                "apiVersion": client.get("apiVersion", "flowops.io/v1alpha1"),
                "kind": "ApiClient",
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": False,
            }
        ],
    }
    if existing_metadata.get("resourceVersion"):
        metadata["resourceVersion"] = existing_metadata["resourceVersion"]  # optimistic concurrency
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}


@dataclass(frozen=True)
class Rendering:
    """A version's document as the ConfigMaps of one environment serve it. It is the same
    for every client there, so a fan-out over hundreds of clients makes it once."""

    text: str  # canonical JSON with the environment's values rendered in
    text_bytes: int  # its UTF-8 length
    content_hash: str  # sha256: of the stored document (references included)
    used: Mapping[str, str]  # the values rendered into it
    escaped: str  # `text` as a JSON string literal, quotes included
    stored_bytes: int = 0  # the stored document's UTF-8 length
    growth: Mapping[str, int] = field(default_factory=dict)  # bytes each value added (values.growth)


def render(raw: bytes, env_values: Mapping[str, Any] | None, environment: str) -> Rendering:
    """`raw`: the version's canonical JSON. Raises values.Unrenderable."""
    text, text_bytes, used, counts = raw.decode("utf-8"), len(raw), dict[str, str](), dict[str, int]()
    if values.has_references(raw):
        rendered, used = values.render(json.loads(raw), env_values, environment, counts)
        encoded = canonical_json(rendered)
        text, text_bytes = encoded.decode("utf-8"), len(encoded)
    return Rendering(
        text,
        text_bytes,
        hash_of_canonical(raw),
        used,
        json.dumps(text, ensure_ascii=False),
        len(raw),
        values.growth(used, counts),
    )


def encode(body: Mapping[str, Any], rendering: Rendering) -> bytes:
    """The ConfigMap as JSON with the document spliced in already escaped: escaping a large
    document is most of the cost of serialising its ConfigMap, once per client otherwise."""
    data = {KEY_DOCUMENT: None, **{k: v for k, v in body["data"].items() if k != KEY_DOCUMENT}}
    shell = json.dumps(
        {"data": data, **{k: v for k, v in body.items() if k != "data"}}, separators=(",", ":"), ensure_ascii=False
    )
    # The shell starts {"data":{"flow.json":null, so its first null is the document's place.
    head, _, tail = shell.partition("null")
    return (head + rendering.escaped + tail).encode()
