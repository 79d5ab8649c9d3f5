"""What `kubectl flowops` shows of a client the operator has resolved (or could not)."""

from __future__ import annotations

from flowops.cli import bindings
from flowops.cli.environments import Environment

WAITING = "waiting for Promotion to-prod-2 to land flow login (it is AwaitingApproval): flow login has no version 2; it has 1"


def test_a_client_waiting_for_a_promotion_awaiting_approval_shows_why_without_a_ready_condition():
    client = {
        "metadata": {"name": "web", "generation": 2},
        "spec": {"defaultFlow": {"name": "login", "version": "2"}},
        "status": {
            "observedGeneration": 2,
            "flow": "login",
            "version": "20261121093012000001",
            "number": 1,
            "conditions": [{"type": "Resolved", "status": "False", "reason": "WaitingForPromotion", "message": WAITING}],
        },
    }
    shown = bindings.view(None, Environment("prod", "ns-prod"), client, {})  # type: ignore[arg-type]
    assert (shown.ready, shown.message) == ("False", WAITING)
