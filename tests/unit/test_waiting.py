"""A wait that times out says what it last saw, not only that a check was false."""

from __future__ import annotations

import pytest

from flowops.testing.waiting import wait_for, wait_until


def test_a_timeout_shows_the_last_observation() -> None:
    seen = iter(range(1000))
    with pytest.raises(AssertionError, match=r"waiting for the counter to pass 10\^6; last value: counter at \d+"):
        wait_until(
            lambda: next(seen),
            lambda n: n > 10**6,
            timeout=0.05,
            interval=0.01,
            message="the counter to pass 10^6",
            shown=lambda n: f"counter at {n}",
        )


def test_the_first_accepted_observation_is_returned() -> None:
    seen = iter(range(1000))
    assert wait_until(lambda: next(seen), lambda n: n >= 3, interval=0) == 3
    assert wait_for(lambda: next(seen) >= 5 and "done", interval=0) == "done"
