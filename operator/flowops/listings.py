"""How often Kopf has listed each kind in this process. A listing after the first is a
re-list (after 410 Gone, or on resuming from a peering pause): it re-delivers what exists
as type=None events, just as start-up does, and tells nothing of what changed meanwhile."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

_listings: Counter[str] = Counter()


def note_list_request(resource: str, query: Mapping[str, Any]) -> None:
    """A list request of `resource` by Kopf. Only a listing's first page counts: later pages
    carry the `continue` token of the first."""
    if "continue" not in query:
        _listings[resource] += 1


def relisted(resource: str) -> bool:
    """Kopf has listed `resource` again since the start-up listing."""
    return _listings[resource] > 1


def forget() -> None:
    """For tests: as at start-up."""
    _listings.clear()
