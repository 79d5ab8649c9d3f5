"""While an Environment is frozen, a change of its values is not rendered: clients keep
their ConfigMaps and say they wait for the freeze (suspended, not stalled)."""

from __future__ import annotations

from typing import Any

import pytest

from flowops import names
from flowops.domain import bindingstatus, conditions, materialise, values
from flowops.domain.binding import resolve_request
from flowops.domain.commit import VersionRecord
from flowops.services import bindings_clients
from flowops.testing.argocd import health as argocd_health

PROD: dict[str, Any] = {"namespace": "ns-prod", "tier": "Production", "values": {"baseUrl": "https://a", "sender": "s@a"}}
FROZEN = {"reason": "release week"}


def env_body(spec: dict[str, Any], writer: str | None = "alice") -> dict[str, Any]:
    annotations = {names.ANN_CHANGED_BY: writer} if writer else {}
    return {"metadata": {"name": "prod", "annotations": annotations}, "spec": spec}


RECORD = VersionRecord(name="login-00001", id="20261121093012000001", number=1, content_hash="sha256:1")


def held(**rendered: str) -> materialise.Fingerprint:
    digests = values.digests(rendered)
    return materialise.Fingerprint("login", RECORD.id, 1, RECORD.content_hash, "RestartAll", tuple(sorted(digests.items())))


def env(spec: dict[str, Any]) -> dict[str, Any]:
    return env_body(spec)


def test_a_frozen_environment_holds_a_change_of_values():
    frozen = {**PROD, "freeze": FROZEN}
    holding = held(baseUrl="https://a", sender="s@b")  # rendered before sender changed
    problem = bindings_clients._values_frozen("login", RECORD, holding, env(frozen))
    assert problem is not None and problem.reason == "Frozen"
    assert problem.message == (
        "environment prod is frozen (release week): the change of spec.values sender waits for the freeze to be "
        "lifted (remove spec.freeze)"
    )
    assert not problem.stalled and problem.suspended


@pytest.mark.parametrize(
    ("spec", "holding", "record"),
    [
        (PROD, held(baseUrl="https://a", sender="s@b"), RECORD),  # not frozen: rendered
        ({**PROD, "freeze": FROZEN}, held(baseUrl="https://a", sender="s@a"), RECORD),  # values as held
        ({**PROD, "freeze": FROZEN}, None, RECORD),  # nothing held yet
        # Another version (a rollback the freeze allows): not a change of values alone.
        ({**PROD, "freeze": FROZEN}, held(sender="s@b"), VersionRecord("login-00002", "20261121093012000002", 2, "sha256:2")),
    ],
)
def test_only_a_change_of_values_alone_waits_for_a_freeze(spec, holding, record):
    assert bindings_clients._values_frozen("login", record, holding, env(spec)) is None


def test_a_client_held_by_a_freeze_is_suspended_not_stalled():
    holding = held(baseUrl="https://a")
    problem = bindings_clients._values_frozen(
        "login", RECORD, holding, env({**PROD, "values": {"baseUrl": "https://b"}, "freeze": {}})
    )
    assert problem is not None
    request = resolve_request({"defaultFlow": {"name": "login", "version": "1"}}, None)
    facts = bindingstatus.client_facts(3, {}, request, holding, "web-flow", problem)
    status = bindingstatus.client_status(facts, None, "2026-11-21T09:30:12Z")
    resolved = conditions.find(status["conditions"], "Resolved")
    assert resolved is not None and (resolved["status"], resolved["reason"]) == ("False", "Frozen")
    assert "environment prod is frozen: the change of spec.values baseUrl waits" in resolved["message"]
    assert "ConfigMap web-flow keeps flow login version 1" in resolved["message"]
    for absent in ("Ready", "Stalled", "Reconciling"):  # kstatus Current, Argo CD Suspended
        assert conditions.find(status["conditions"], absent) is None
    assert status["values"] == holding.rendered_with, "the held digests: lifting the freeze re-renders it"
    client = {"metadata": {"name": "web", "generation": 3}, "status": status}
    assert argocd_health("ApiClient", client) == ("Suspended", f"Frozen: {resolved['message']}")
