"""A Kopf index as a handler sees it, for unit tests of handlers that read indexes."""

from __future__ import annotations

from typing import Any


class RecordingIndex(dict):
    """Records the keys it is asked for: a handler that walks more than it needs shows it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.asked: list[Any] = []

    def get(self, key: Any, default: Any = None) -> Any:
        self.asked.append(key)
        return super().get(key, default)
