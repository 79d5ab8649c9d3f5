"""An Environment's spec changed: what it loosens goes out as a Warning Event naming who."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import names
from ..domain import policychange
from .common import Poster


def report_loosened(
    env: Mapping[str, Any], old_spec: Mapping[str, Any] | None, new_spec: Mapping[str, Any] | None, post: Poster
) -> None:
    meta = env["metadata"]
    found = policychange.loosened(meta["name"], old_spec, new_spec)
    if not found:
        return
    who = (meta.get("annotations") or {}).get(names.ANN_CHANGED_BY) or "an unrecorded writer"
    post(env, "Warning", "PolicyLoosened", f"{'; '.join(found)} (spec changed by {who})")
