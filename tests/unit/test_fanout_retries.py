"""A fan-out retries what fails by itself: a refusal known to pass (admission starting after
an API server restart, up to 30 s) for longer than an ordinary error, since no later event
would retry it; either is logged when it is given up."""

from __future__ import annotations

import logging

import pytest

from flowops.services import bindings_concurrency
from flowops.services.common import RetryLater


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    monkeypatch.setattr(bindings_concurrency.time, "sleep", lambda s: None)


def failing(times: int, error: Exception):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= times:
            raise error

    return call, calls


def test_a_refusal_known_to_pass_is_retried_past_the_ordinary_attempts():
    call, calls = failing(5, RetryLater("ConfigMap c refused while admission starts"))
    bindings_concurrency.with_retries(call, "writing c")
    assert len(calls) == 6  # an ordinary error would have been given up after 3


def test_an_ordinary_error_is_given_up_after_three_and_logged(caplog):
    call, calls = failing(10, RuntimeError("boom"))
    with caplog.at_level(logging.ERROR):
        bindings_concurrency.with_retries(call, "writing c")
    assert len(calls) == 3 and "failed 3 times" in caplog.text


def test_a_refusal_that_lasts_is_given_up_with_a_warning(caplog):
    call, calls = failing(100, RetryLater("refused while admission starts"))
    with caplog.at_level(logging.WARNING):
        bindings_concurrency.with_retries(call, "writing c")
    assert len(calls) == 8 and "refused 8 times" in caplog.text and "ERROR" not in caplog.text
