"""Versions that retention must spare: pinned by clients, or used by running Promotions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..domain.commit import VersionRecord
from ..domain.versionid import parse_selector
from ..kube import APICLIENTS, APPLICATIONS, PROMOTIONS, Kube

TERMINAL_PHASES = ("Succeeded", "Failed")


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
    return ()


def pinned_versions(kube: Kube, namespace: str, flow: str, records: Sequence[VersionRecord]) -> set[str]:
    pinned: set[str] = set()
    for app in kube.list(APPLICATIONS, namespace):
        default = (app.get("spec") or {}).get("defaultFlow") or {}
        if default.get("name") == flow:
            pinned.update(_selected_ids(default.get("version"), records))
    for client in kube.list(APICLIENTS, namespace):
        status, default = client.get("status") or {}, (client.get("spec") or {}).get("defaultFlow") or {}
        if status.get("flow") == flow and status.get("version"):
            pinned.add(status["version"])  # what the client uses right now, HEAD followers included
        if default.get("name") in (None, flow):
            pinned.update(_selected_ids(default.get("version"), records) if default.get("name") == flow or status.get("flow") == flow else ())
    return pinned


def versions_in_use_by_promotions(kube: Kube, environment: str | None, namespace: str, flow: str) -> set[str]:
    in_use: set[str] = set()
    for promotion in kube.list(PROMOTIONS):
        status, spec = promotion.get("status") or {}, promotion.get("spec") or {}
        if status.get("phase") in TERMINAL_PHASES:
            continue
        source = spec.get("source") or {}
        if environment and source.get("environment") == environment and source.get("flow") == flow and status.get("sourceVersion"):
            in_use.add(status["sourceVersion"])
        target = (spec.get("target") or {}).get("flow") or source.get("flow")
        if promotion["metadata"]["namespace"] == namespace and target == flow and status.get("targetBaseVersion"):
            in_use.add(status["targetBaseVersion"])
    return in_use
