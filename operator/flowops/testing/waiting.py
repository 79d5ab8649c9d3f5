"""Polling helper for tests and benchmarks against a live cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T | Literal[False] | None], timeout: float = 30.0, interval: float = 0.1, message: str = ""
) -> T:
    """Returns the first truthy value of predicate(); fails with the last value seen."""
    deadline = time.monotonic() + timeout
    last: T | Literal[False] | None = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or predicate}; last value: {last!r}")
        time.sleep(interval)
