"""Flow documents and edits for the scenarios: real identity flows, small realistic edits."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

from flowops.testing.documents import canonical_bytes, flow_of_size, identity_flow

# The edited text: the sign-in title in English, as a copywriter's change would be.
EDIT_LOCALE, EDIT_KEY = "en", "login.title"


@functools.cache
def _small() -> str:
    return json.dumps(identity_flow(["en"]))


@functools.cache
def _sized(target_bytes: int) -> str:
    return json.dumps(flow_of_size(target_bytes))


def small_flow() -> dict[str, Any]:
    """A one-locale sign-in flow (~23 KB): the many-flows scenarios use it."""
    return json.loads(_small())


def sized_flow(target_bytes: int) -> dict[str, Any]:
    """The smallest identity flow (whole locales) of at least target_bytes."""
    return json.loads(_sized(target_bytes))


def size_of(doc: Any) -> int:
    return len(canonical_bytes(doc))


def edit_text(n: int) -> str:
    return f"Sign in (edit {n})"


def edit_patch(n: int) -> dict[str, Any]:
    """A merge patch changing one translated text: what `kubectl patch` of a small edit sends."""
    return {"spec": {"content": {"translations": {EDIT_LOCALE: {EDIT_KEY: edit_text(n)}}}}}


def edited(doc: dict[str, Any], n: int) -> dict[str, Any]:
    result = copy.deepcopy(doc)
    result["translations"][EDIT_LOCALE][EDIT_KEY] = edit_text(n)
    return result


def flow_object(name: str, content: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "flowops.io/v1alpha1", "kind": "Flow", "metadata": metadata, "spec": {"content": content}}


def drift_patch(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """The n-th of a series of edits that each touch another text, so versions drift apart
    from their first one as a flow's history does (unlike edit_patch, which rewrites one text)."""
    texts = doc["translations"][EDIT_LOCALE]
    key = sorted(texts)[n % len(texts)]
    return {"spec": {"content": {"translations": {EDIT_LOCALE: {key: f"{texts[key]} (rev {n})"}}}}}
