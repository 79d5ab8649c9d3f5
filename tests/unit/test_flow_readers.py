"""Clients that began reading a flow before its events showed its new HEAD are reached by
the Flow's event, whatever the ApiClient index shows yet; those that began after are not
reconciled again (a fan-out's clients would otherwise be, on each later event of it)."""

from __future__ import annotations

import pytest

from flowops.services import flowreaders
from flowops.services.flowreaders import UNSEEN, FlowReaders

NS = "ns-dev"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_reader_that_began_under_the_old_head_is_behind_the_new_one(clock: Clock) -> None:
    readers = FlowReaders()
    readers.begin(NS, "login", "late", "v1", clock)
    assert readers.behind(NS, "login", "v2", deleted=False, now=clock) == ["late"]


def test_a_reader_that_began_under_this_head_is_not_behind(clock: Clock) -> None:
    readers = FlowReaders()
    readers.begin(NS, "login", "fanned-out", "v2", clock)
    assert readers.behind(NS, "login", "v2", deleted=False, now=clock) == []


def test_a_reader_that_began_before_any_event_is_behind_the_first(clock: Clock) -> None:
    readers = FlowReaders()
    readers.begin(NS, "login", "early", UNSEEN, clock)
    assert readers.behind(NS, "login", None, deleted=False, now=clock) == ["early"]


def test_every_reader_is_behind_a_deletion(clock: Clock) -> None:
    readers = FlowReaders()
    readers.begin(NS, "login", "a", None, clock)
    assert readers.behind(NS, "login", None, deleted=True, now=clock) == ["a"]


def test_only_readers_of_that_flow_and_namespace(clock: Clock) -> None:
    readers = FlowReaders()
    readers.begin(NS, "signup", "other-flow", "s1", clock)
    readers.begin("ns-prod", "login", "other-namespace", "v0", clock)
    assert readers.behind(NS, "login", "v2", deleted=False, now=clock) == []


def test_a_client_that_asks_for_another_flow_now_reads_only_that_one(clock: Clock) -> None:
    readers = FlowReaders()
    readers.begin(NS, "login", "mover", "v1", clock)
    readers.begin(NS, "signup", "mover", "s1", clock)
    assert readers.behind(NS, "login", "v2", deleted=False, now=clock) == []
    assert readers.behind(NS, "signup", "s2", deleted=False, now=clock) == ["mover"]


def test_readers_are_forgotten_once_the_index_has_long_caught_up(clock: Clock) -> None:
    readers = FlowReaders()
    readers.begin(NS, "login", "slow", "v1", clock)
    clock.now = flowreaders.READER_TTL + 5
    readers.ended(NS, "slow", clock)  # a long reconcile: the time to live runs from its end
    clock.now += flowreaders.READER_TTL - 1
    assert readers.behind(NS, "login", "v2", deleted=False, now=clock) == ["slow"]
    clock.now += 2
    assert readers.behind(NS, "login", "v3", deleted=False, now=clock) == []
    assert readers._by_flow == {} and readers._flow_of == {}
