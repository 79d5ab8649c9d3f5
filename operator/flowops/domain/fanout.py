"""Which bindings an event touches, decided from small index entries (pure).

Flow and Environment events are frequent (every status write is one); re-resolving
only the clients and applications whose recorded state disagrees with the event keeps
that cheap, and a re-resolution that changes nothing writes nothing anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import conditions, values
from .bindingtarget import WAITING_FOR_PROMOTION, is_head_selector

Entry = dict[str, Any]


def client_entry(name: str, status: Mapping[str, Any] | None) -> Entry:
    status = status or {}
    requested = status.get("requested") or {}
    resolved = conditions.find(status.get("conditions"), "Resolved") or {}
    return {
        "name": name,
        "flow": status.get("flow"),
        "version": status.get("version"),
        "requested": requested.get("name"),
        "requestedHead": is_head_selector(requested.get("version")),
        "followsHead": bool(status.get("followsHead")),
        "resolved": resolved.get("status") == "True",
        "reason": resolved.get("reason"),
        "values": dict(status.get("values") or {}),
    }


def application_entry(name: str, spec: Mapping[str, Any] | None, status: Mapping[str, Any] | None) -> Entry:
    default = (spec or {}).get("defaultFlow") or {}
    status = status or {}
    ready = conditions.find(status.get("conditions"), "Ready") or {}
    # Without Ready (waiting for a Promotion awaiting approval), Resolved says why.
    resolved = conditions.find(status.get("conditions"), "Resolved") or {}
    return {
        "name": name,
        "flow": default.get("name") or None,
        "head": bool(default.get("name")) and (not default.get("version") or is_head_selector(str(default["version"]))),
        "ready": ready.get("status") == "True",
        "reason": ready.get("reason") or resolved.get("reason"),
        "clients": status.get("clients"),
    }


def client_touched_by_flow(entry: Mapping[str, Any], flow: str, head: str | None, deleted: bool) -> bool:
    """`head` is the Flow's status.latestReadyVersion."""
    if entry.get("requested") != flow:
        return False  # it may still hold this flow, but it asks for another one
    if deleted:
        return entry.get("reason") != "FlowNotFound"
    if not entry.get("resolved"):
        return True  # the flow or the pinned version may exist now
    return bool(entry.get("followsHead")) and entry.get("version") != head


def client_touched_by_policy(entry: Mapping[str, Any], allow_head: bool) -> bool:
    if not entry.get("requestedHead"):
        return False
    return entry.get("reason") == "HeadNotAllowed" if allow_head else bool(entry.get("resolved"))


def client_touched_by_rules(entry: Mapping[str, Any]) -> bool:
    """New guardrails: a pinned version may fail them now, or pass them now; rules that
    could not be used may be fixed."""
    if not entry.get("requested"):
        return False
    if entry.get("reason") == "GuardrailsInvalid":
        return True
    if entry.get("requestedHead"):
        return False  # HEAD followers move with their Flow's HEAD
    return bool(entry.get("resolved")) or entry.get("reason") == "VersionNotReady"


def client_touched_by_environment(entry: Mapping[str, Any], exists: bool) -> bool:
    """The namespace's Environment came or went: clients materialise only under one. So is
    a client whose status the index does not show yet: its handler may have run just
    before the change, with its status still on the way (it would then never be told)."""
    reason = entry.get("reason")
    return reason is None or (reason == "NoEnvironment") == exists


def application_touched_by_flow(entry: Mapping[str, Any], flow: str, deleted: bool, head: str | None) -> bool:
    """`head` is the Flow's status.latestReadyVersion: a default at HEAD resolves only while
    there is one (new rules may fail every version)."""
    if entry.get("flow") != flow:
        return False
    if deleted or (head is None and entry.get("head")):
        return bool(entry.get("ready"))
    return not entry.get("ready")


def application_touched_by_policy(entry: Mapping[str, Any], allow_head: bool) -> bool:
    if not entry.get("head"):
        return False
    return entry.get("reason") == "HeadNotAllowed" if allow_head else bool(entry.get("ready"))


def application_touched_by_rules(entry: Mapping[str, Any]) -> bool:
    return bool(entry.get("flow")) and (not entry.get("head") or entry.get("reason") == "GuardrailsInvalid")


def client_touched_by_values(entry: Mapping[str, Any], env_values: Mapping[str, Any] | None) -> bool:
    """A value its ConfigMap was rendered with changed or went away; or it could not be
    rendered for want of a value, which may be defined now."""
    return values.touched(entry.get("values"), env_values) or entry.get("reason") == "ValueNotDefined"


def clients_using_values(entries: Iterable[Mapping[str, Any]], names: Iterable[str]) -> int:
    """How many of these client entries hold a ConfigMap rendered with one of `names`."""
    wanted = set(names)
    return sum(1 for entry in entries if wanted & set(entry.get("values") or ()))


# What an unfinished Promotion may bring (domain.bindingtarget.awaiting_promotion).
MISSING = ("FlowNotFound", "VersionNotFound")


def touched_by_promotion(entry: Mapping[str, Any], unfinished: bool) -> bool:
    """A Promotion into the binding's flow changed phase (`unfinished`: it is still under
    way), finished or went. One waiting for a Promotion says what it waits for now, and
    fails once none may bring what it names; one whose flow or version is missing may
    wait for this one. For client and application entries alike."""
    reason = entry.get("reason")
    return reason == WAITING_FOR_PROMOTION or (unfinished and reason in MISSING)
