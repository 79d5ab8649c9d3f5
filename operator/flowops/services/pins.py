"""Versions that retention must spare: pinned by clients, used by running Promotions, or
landed by a Promotion that still exists.

In the operator these come from Kopf's in-memory indexes (`Runtime.indexes`, filled from
the watch streams by handlers/indexes.py), so a commit at the history limit costs no
LIST of the namespace's clients or of every Promotion in the cluster. Without them (a
process that is not the operator) the same entries are computed from LIST calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..domain.commit import VersionRecord
from ..domain.versionid import parse_selector
from ..kube import APICLIENTS, APPLICATIONS, PROMOTIONS
from ..runtime import Runtime

TERMINAL_PHASES = ("Succeeded", "Failed")

# Index names (Runtime.indexes keys); their entries: key -> tuple of version selectors.
APICLIENT_PINS = "apiclient_pins"
APPLICATION_PINS = "application_pins"
PROMOTION_PINS = "promotion_pins"

Key = tuple[str, str, str]
Entries = dict[Key, tuple[str, ...]]


def _add(entries: Entries, key: Key, selector: Any) -> None:
    if key[2] and selector:
        entries[key] = entries.get(key, ()) + (str(selector),)


def client_pins(namespace: str, spec: Mapping[str, Any], status: Mapping[str, Any]) -> Entries:
    """What an ApiClient holds on to: the version it uses now (HEAD followers included)
    and the version its own setting names, for the flow it names or uses."""
    entries: Entries = {}
    default = spec.get("defaultFlow") or {}
    if status.get("version"):
        _add(entries, ("flow", namespace, status.get("flow") or ""), status["version"])
    _add(entries, ("flow", namespace, default.get("name") or status.get("flow") or ""), default.get("version"))
    return entries


def application_pins(namespace: str, spec: Mapping[str, Any]) -> Entries:
    entries: Entries = {}
    default = spec.get("defaultFlow") or {}
    _add(entries, ("flow", namespace, default.get("name") or ""), default.get("version"))
    return entries


def promotion_pins(namespace: str, name: str, spec: Mapping[str, Any], status: Mapping[str, Any]) -> Entries:
    """A running Promotion holds its source version (by environment) and its target's base;
    before it has recorded its source version, the version its spec names. Every Promotion,
    finished or not, holds the target versions that name it in their provenance: that is
    how the same Promotion, re-created by a GitOps prune and re-apply, is recognised as
    landed instead of rolling the target back. By name, known from the object's first
    event, so a version landed moments ago is held before the Promotion's status is seen."""
    source = spec.get("source") or {}
    target = (spec.get("target") or {}).get("flow") or source.get("flow") or ""
    entries: Entries = {}
    _add(entries, ("promoted-by", namespace, target), name)
    if status.get("phase") in TERMINAL_PHASES:
        return entries
    if source.get("environment"):
        _add(
            entries,
            ("source", source["environment"], source.get("flow") or ""),
            status.get("sourceVersion") or source.get("version"),
        )
    _add(entries, ("target", namespace, target), status.get("targetBaseVersion"))
    return entries


def _selected_ids(selector: str | None, records: Sequence[VersionRecord]) -> Iterable[str]:
    if not selector:
        return ()
    try:
        parsed = parse_selector(selector)
    except ValueError:
        return ()
    if parsed.kind == "id":
        return (str(parsed.value),)
    if parsed.kind == "number":
        return tuple(r.id for r in records if r.number == parsed.value)
    if parsed.kind == "hash":
        return tuple(r.id for r in records if r.content_hash == parsed.value)
    return ()


def _indexed(index: Any, key: Key) -> list[str]:
    return [selector for value in index.get(key, ()) for selector in value]


def _listed(entries: Iterable[Entries], key: Key) -> list[str]:
    return [selector for e in entries for selector in e.get(key, ())]


def pinned_versions(rt: Runtime, namespace: str, flow: str, records: Sequence[VersionRecord]) -> set[str]:
    key: Key = ("flow", namespace, flow)
    clients, apps = rt.indexes.get(APICLIENT_PINS), rt.indexes.get(APPLICATION_PINS)
    if clients is not None and apps is not None:
        selectors = _indexed(clients, key) + _indexed(apps, key)
    else:
        selectors = _listed(
            (client_pins(namespace, c.get("spec") or {}, c.get("status") or {}) for c in rt.kube.list(APICLIENTS, namespace)), key
        )
        selectors += _listed(
            (application_pins(namespace, a.get("spec") or {}) for a in rt.kube.list(APPLICATIONS, namespace)), key
        )
    return {vid for selector in selectors for vid in _selected_ids(selector, records)}


def versions_in_use_by_promotions(
    rt: Runtime, environment: str | None, namespace: str, flow: str, records: Sequence[VersionRecord] = ()
) -> set[str]:
    keys: list[Key] = [("target", namespace, flow)] + ([("source", environment, flow)] if environment else [])
    landed_by: Key = ("promoted-by", namespace, flow)
    index = rt.indexes.get(PROMOTION_PINS)
    if index is not None:
        selectors = [v for key in keys for v in _indexed(index, key)]
        promotions = set(_indexed(index, landed_by))
    else:
        entries = [
            promotion_pins(p["metadata"]["namespace"], p["metadata"]["name"], p.get("spec") or {}, p.get("status") or {})
            for p in rt.kube.list(PROMOTIONS)
        ]
        selectors = [v for key in keys for v in _listed(entries, key)]
        promotions = set(_listed(entries, landed_by))
    pinned = {vid for selector in selectors for vid in _selected_ids(selector, records)}
    return pinned | {r.id for r in records if r.promotion_name and r.promotion_name in promotions}
