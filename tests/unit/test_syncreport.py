import pytest

from flowops.domain import syncreport

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
