"""Whether a resumed ApiClient still holds what its binding names, decided without reading
its Flow or listing its versions (pure).

At a restart every client resumes. When its status and its ConfigMap both name the
flow's current HEAD (as the Flow watch showed it), the selector it asks for names that
same version and nothing it was rendered with changed, re-resolving would find what it
holds: the Flow (a whole document) and the version list are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import conditions, values
from .binding import Resolution
from .bindingtarget import Problem
from .materialise import Fingerprint
from .versionid import Selector


def _names_held(selector: Selector, held: Fingerprint) -> bool:
    # Content-hash selectors name the newest version with that content: that needs the list.
    if selector.kind == "head":
        return True  # held is HEAD (checked by the caller)
    if selector.kind == "number":
        return selector.value == held.number
    if selector.kind == "id":
        return selector.value == held.version
    return False


def holds_head(
    status: Mapping[str, Any] | None,
    generation: int | None,
    request: Resolution,
    selector: Selector | Problem,
    head: str | None,
    held: Fingerprint | None,
    env_values: Mapping[str, Any] | None,
) -> bool:
    """`head`: the flow's status.latestReadyVersion as its last watch event said (None:
    unknown or none); `held`: what the client's ConfigMap says it holds."""
    status = status or {}
    if isinstance(selector, Problem) or held is None or head is None or not request.resolved:
        return False
    resolved = conditions.find(status.get("conditions"), "Resolved") or {}
    return (
        status.get("observedGeneration") == generation
        and resolved.get("status") == "True"
        and status.get("requested") == {"name": request.name, "version": request.version}
        and status.get("sources") == {"name": request.name_source, "version": request.version_source}
        and (held.flow, held.version, held.contentHash) == (request.name, head, status.get("contentHash"))
        and (status.get("flow"), status.get("version")) == (held.flow, held.version)
        and _names_held(selector, held)
        and not values.touched(held.rendered_with, env_values or {})
    )


def still_head(holds: str, head: str | None) -> bool:
    """A client that resumed before its flow was seen, when the flow's event brings `head`."""
    return head is not None and head == holds
