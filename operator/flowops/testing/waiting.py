"""Polling helpers for tests and benchmarks against a live cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar

T = TypeVar("T")
V = TypeVar("V")


def wait_until(
    observe: Callable[[], V],
    accept: Callable[[V], Any],
    timeout: float = 30.0,
    interval: float = 0.1,
    message: str = "",
    shown: Callable[[V], Any] = repr,
) -> V:
    """Returns the first observation `accept` takes; fails showing the last one, so a
    timeout says what state the cluster was in rather than that a check was false."""
    deadline = time.monotonic() + timeout
    while True:
        last = observe()
        if accept(last):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or accept}; last value: {shown(last)}")
        time.sleep(interval)


def wait_for(
    predicate: Callable[[], T | Literal[False] | None], timeout: float = 30.0, interval: float = 0.1, message: str = ""
) -> T:
    """Returns the first truthy value of predicate(); fails with the last value seen."""
    return wait_until(predicate, bool, timeout, interval, message or str(predicate))  # type: ignore[return-value]
