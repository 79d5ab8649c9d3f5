"""Events through Kopf's poster (batched, retried, never blocking a handler)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf


def post(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    # Kubernetes caps an Event message at 1 KiB of useful text in most UIs; keep it readable.
    kopf.event(body, type=type_, reason=reason, message=message[:1024])
