"""An Environment's spec changed: what it loosens, and a change of a protected
environment's values, go out as Warning Events naming who."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import names
from ..domain import fanout, policychange, values
from .common import Poster


def writer(env: Mapping[str, Any]) -> str:
    """Who last changed the Environment's spec, as the API server recorded it."""
    return ((env.get("metadata") or {}).get("annotations") or {}).get(names.ANN_CHANGED_BY) or "an unrecorded writer"


def report_loosened(
    env: Mapping[str, Any], old_spec: Mapping[str, Any] | None, new_spec: Mapping[str, Any] | None, post: Poster
) -> None:
    meta = env["metadata"]
    found = policychange.loosened(meta["name"], old_spec, new_spec)
    if not found:
        return
    post(env, "Warning", "PolicyLoosened", f"{'; '.join(found)} (spec changed by {writer(env)})")


def report_values_changed(
    env: Mapping[str, Any],
    old_spec: Mapping[str, Any] | None,
    new_spec: Mapping[str, Any] | None,
    post: Poster,
    clients: Iterable[Mapping[str, Any]],
) -> None:
    """`clients`: the index entries of the environment's ApiClients (what each ConfigMap
    was rendered with)."""
    entries = list(clients)
    new_spec = env.get("spec") or new_spec  # the body's: its values are never a marker
    changed = policychange.values_changed(old_spec, new_spec)
    if changed is None:
        # The last-handled spec kept only a marker of large values: the names are those
        # whose value differs from what a client's ConfigMap was rendered with.
        now = (new_spec or {}).get("values") or {}
        changed = sorted({name for entry in entries for name in values.changed_names(entry.get("values"), now)})
    told = policychange.values_told(changed, old_spec, new_spec, writer(env), fanout.clients_using_values(entries, changed))
    if told:
        post(env, "Warning", "ValuesChanged", told)
