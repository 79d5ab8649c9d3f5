"""A finished Promotion changed afterwards (its approval merged after it had failed): the
new generation is marked observed, so Flux and Argo CD read the outcome, not a Promotion
in progress for ever; the outcome itself stands and nothing runs."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowops.domain import promotionstatus
from flowops.runtime import Runtime
from flowops.services import promotions
from flowops.testing.argocd import health

from .test_promotion_writes import ApiServer

FAILED_CONDITIONS = promotionstatus.promotion_conditions(
    "Failed", "spec.source.version 9: no such version", 1, None, "2026-12-03T10:00:00Z", "UnknownVersion"
)
SUCCEEDED_CONDITIONS = promotionstatus.promotion_conditions("Succeeded", "promoted", 1, None, "2026-12-03T10:00:00Z")


def finished(phase: str, generation: int, observed: int | None) -> dict[str, Any]:
    return {
        "metadata": {"name": "p1", "namespace": "prod", "uid": "u1", "resourceVersion": "40", "generation": generation},
        "spec": {"source": {"environment": "staging", "flow": "login", "version": "9"}, "review": True, "approved": True},
        "status": {
            "phase": phase,
            "message": "spec.source.version 9: no such version" if phase == "Failed" else "promoted",
            "observedGeneration": observed,
            "conditions": FAILED_CONDITIONS if phase == "Failed" else SUCCEEDED_CONDITIONS,
        },
    }


@pytest.mark.parametrize(
    ("phase", "generation", "observed", "expected"),
    [
        ("Failed", 2, 1, "Warning"),
        ("Succeeded", 2, 1, "Normal"),
        ("Failed", 1, 1, None),  # nothing changed since it finished
        ("Running", 2, 1, None),  # not finished: the Promotion is decided again instead
        ("Failed", 2, None, "Warning"),  # finished before observedGeneration was recorded
    ],
)
def test_only_a_finished_promotion_with_an_unobserved_generation_is_acknowledged(phase, generation, observed, expected):
    acknowledged = promotionstatus.acknowledged_after_finish(finished(phase, generation, observed))
    if expected is None:
        assert acknowledged is None
        return
    fields, event_type, message = acknowledged
    assert event_type == expected
    assert fields["observedGeneration"] == generation
    assert all(c["observedGeneration"] == generation for c in fields["conditions"])
    assert f"already finished ({phase}" in message and "create a new Promotion" in message


def test_an_approval_after_failure_reads_failed_not_progressing_and_changes_nothing_else():
    before = finished("Failed", 2, 1)
    assert health("Promotion", before)[0] == "Progressing"  # what Argo CD showed, for ever
    server = ApiServer(before)
    posted: list[tuple[str, str, str]] = []
    rt = Runtime(kube=server)  # type: ignore[arg-type]
    promotions.reconcile(
        rt,
        copy.deepcopy(before),
        lambda _: None,
        lambda _: None,
        list,
        lambda obj, t, reason, msg: posted.append((t, reason, msg)),
    )
    after = server.stored
    assert after["status"]["observedGeneration"] == 2
    assert (after["status"]["phase"], after["status"]["message"]) == ("Failed", before["status"]["message"])
    assert [(c["type"], c["status"], c["reason"]) for c in after["status"]["conditions"]] == [
        (c["type"], c["status"], c["reason"]) for c in before["status"]["conditions"]
    ]
    assert health("Promotion", after)[0] == "Degraded"
    assert [(t, reason) for t, reason, _ in posted] == [("Warning", "AlreadyFinished")]
    assert server.writes == 1

    # Its next event (the write's own) finds nothing left to acknowledge.
    promotions.reconcile(rt, copy.deepcopy(after), lambda _: None, lambda _: None, list, lambda *a: posted.append(a))
    assert server.writes == 1 and len(posted) == 1
