"""Something a Flow's reconcile read was not found. If the Flow or its namespace is on its
way out (a namespace's deletion may take the versions before the Flows), the reconcile ends
with a line at INFO saying so; otherwise the failure stands and the reconcile is retried."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from flowops.kube import FLOWS, NAMESPACES, NotFound
from flowops.runtime import Runtime
from flowops.services import flows

FLOW = {"metadata": {"name": "login", "namespace": "staging", "uid": "f1"}, "spec": {"content": {}}, "status": {"head": "1"}}
TERMINATING = {"metadata": {"name": "staging", "deletionTimestamp": "2026-12-03T08:00:00Z"}}


class Cluster:
    def __init__(self, flow: dict[str, Any] | None, namespace: dict[str, Any] | None) -> None:
        self.objects = {FLOWS: flow, NAMESPACES: namespace}

    def get_metadata(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        found = self.objects[resource]
        return {"metadata": found["metadata"]} if found else None


def reconcile_meeting_a_missing_version(monkeypatch: pytest.MonkeyPatch, cluster: Cluster) -> flows.Outcome:
    def version_gone(*args: Any, **kwargs: Any) -> flows.Outcome:
        raise NotFound(404, "NotFound", 'flowversions.flowops.io "login-00001" not found')

    monkeypatch.setattr(flows, "reconcile_locked", version_gone)
    return flows.reconcile(Runtime(kube=cluster), FLOW, None)  # type: ignore[arg-type]


def test_a_version_gone_with_its_namespace_ends_the_reconcile_quietly(monkeypatch, caplog):
    with caplog.at_level(logging.INFO, logger=flows.__name__):
        outcome = reconcile_meeting_a_missing_version(monkeypatch, Cluster(FLOW, TERMINATING))
    assert outcome.gone and outcome.created is None and outcome.status == FLOW["status"]
    assert "namespace staging is being deleted: flow login is not committed" in caplog.text


@pytest.mark.parametrize(
    "flow", [None, {"metadata": {"name": "login", "namespace": "staging", "uid": "f2"}}], ids=["gone", "re-created"]
)
def test_a_flow_gone_or_replaced_ends_the_reconcile_quietly(monkeypatch, caplog, flow):
    with caplog.at_level(logging.INFO, logger=flows.__name__):
        assert reconcile_meeting_a_missing_version(monkeypatch, Cluster(flow, None)).gone
    assert "flow staging/login was deleted while it was reconciled" in caplog.text


def test_a_version_missing_from_a_live_flow_in_a_live_namespace_is_a_failure_to_retry(monkeypatch):
    active = {"metadata": {"name": "staging"}}
    with pytest.raises(NotFound, match="login-00001"):
        reconcile_meeting_a_missing_version(monkeypatch, Cluster(FLOW, active))
