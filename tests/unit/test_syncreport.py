import pytest

from flowops.domain import syncreport
from flowops.services.flowregistry import FlowRegistry

OWN, UP, MOVED = "20261130-0001", "20261130-0002", "20261130-0003"


def _status(**report):
    sync = {"upstream": "dev", "version": OWN, "upstreamVersion": UP, "state": "InSync", **report}
    return {"latestReadyVersion": OWN, "sync": {k: v for k, v in sync.items() if v is not None}}


@pytest.mark.parametrize(
    ("status", "upstream", "preserved", "env_exists", "known", "head", "decision"),
    [
        (_status(), None, False, True, "unlisted", None, "current"),  # no upstream: no report
        (_status(), "dev", False, True, "known", UP, "current"),
        (_status(), "dev", False, True, "known", MOVED, "stale"),  # upstream moved while down
        (_status(), "dev", False, True, "known", None, "stale"),  # upstream has no ready version now
        (_status(), "dev", False, True, "awaited", None, "await"),  # its event will check
        (_status(), "dev", False, True, "absent", None, "stale"),  # deleted while down
        (_status(), "dev", False, True, "unlisted", None, "stale"),
        (_status(), "dev", False, False, "known", UP, "stale"),  # upstream Environment gone
        (_status(), "qa", False, True, "known", UP, "stale"),  # upstream renamed
        (_status(version="20261129-0009"), "dev", False, True, "known", UP, "stale"),  # own HEAD moved
        (_status(), "dev", True, True, "known", UP, "stale"),  # preserved paths set since
        (_status(preservedPaths=2), "dev", False, True, "known", UP, "stale"),  # and unset since
        (_status(preservedPaths=2), "dev", True, True, "awaited", None, "await"),
        ({"latestReadyVersion": OWN}, "dev", False, True, "known", UP, "stale"),  # never reported
    ],
)
def test_a_resumed_report_is_kept_recomputed_or_left_to_the_upstreams_event(
    status, upstream, preserved, env_exists, known, head, decision
):
    assert syncreport.on_resume(status, upstream, preserved, env_exists, known, head) == decision


@pytest.mark.parametrize(
    ("report", "head", "decision"),
    [
        (_status()["sync"], UP, "current"),
        (_status()["sync"], MOVED, "stale"),
        (_status()["sync"], None, "stale"),
        (None, UP, "stale"),
    ],
)
def test_the_upstreams_event_checks_a_waiting_report_against_its_head(report, head, decision):
    assert syncreport.on_upstream_event(report, head) == decision


def _primed(*names):
    registry = FlowRegistry()
    registry.prime("dev", lambda: list(names))
    return registry


def test_downstream_seen_first_waits_and_the_upstreams_event_hands_it_back_once():
    registry = _primed("signin")
    assert registry.upstream_head("dev", "signin", waiter="staging") == ("awaited", None)
    assert registry.upstream_head("dev", "signin", waiter="production") == ("awaited", None)
    assert registry.observe("dev", "other", None, head=UP) == []
    assert registry.observe("dev", "signin", None, head=MOVED) == ["production", "staging"]
    assert registry.observe("dev", "signin", None, head=MOVED) == [], "checked once"
    assert registry.upstream_head("dev", "signin", waiter="staging") == ("known", MOVED)


def test_upstream_seen_first_is_known_and_nobody_waits():
    registry = _primed("signin")
    assert registry.observe("dev", "signin", None, head=UP) == []
    assert registry.upstream_head("dev", "signin", waiter="staging") == ("known", UP)
    assert registry.observe("dev", "signin", None, head=MOVED) == []


def test_an_upstream_not_listed_or_deleted_is_absent_and_an_unlisted_namespace_unknown():
    registry = _primed("signin")
    assert registry.upstream_head("dev", "missing", waiter="staging") == ("absent", None)
    registry.observe("dev", "signin", None, head=UP)
    registry.observe("dev", "signin", None, deleted=True)
    assert registry.upstream_head("dev", "signin", waiter="staging") == ("absent", None)
    assert registry.upstream_head("qa", "signin", waiter="staging") == ("unlisted", None)


def test_a_deleted_upstream_hands_back_its_waiters():
    registry = _primed("signin")
    registry.upstream_head("dev", "signin", waiter="staging")
    assert registry.observe("dev", "signin", None, deleted=True) == ["staging"]
