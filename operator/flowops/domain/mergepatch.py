"""JSON Merge Patch (RFC 7386) applied locally: what the API server would make of a
status merge patch, so the result can be written as a whole (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """`target` with `patch` merged in: objects merge key by key, null removes a key, any
    other value replaces. Neither argument is changed; untouched values are shared."""
    if not isinstance(patch, Mapping):
        return patch
    merged = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = apply_merge_patch(merged.get(key), value)
    return merged
