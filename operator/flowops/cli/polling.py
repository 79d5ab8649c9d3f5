"""Waiting for the operator to act on what a command wrote."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(
    check: Callable[[], T | None], timeout: float, interval: float = 0.5, sleep: Callable[[float], None] = time.sleep
) -> T | None:
    """The first truthy result of check(), or None when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            return None
        sleep(interval)
