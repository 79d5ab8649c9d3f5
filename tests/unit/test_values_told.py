"""A change of an Environment's values, told as a Warning in a protected environment:
the names and the writer, never the contents."""

from __future__ import annotations

from typing import Any

import pytest

from flowops import names
from flowops.domain import fanout, values
from flowops.domain.policychange import values_changed, values_told
from flowops.services import environmentaudit

PROD: dict[str, Any] = {"namespace": "ns-prod", "tier": "Production", "values": {"baseUrl": "https://a", "sender": "s@a"}}
DEV: dict[str, Any] = {**PROD, "tier": "Development"}
FROZEN = {"reason": "release week"}


def with_values(spec: dict[str, Any], **changed: str | None) -> dict[str, Any]:
    merged = {**spec["values"], **changed}
    return {**spec, "values": {k: v for k, v in merged.items() if v is not None}}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (PROD, PROD, []),
        (PROD, with_values(PROD, baseUrl="https://b"), ["baseUrl"]),
        (PROD, with_values(PROD, supportUrl="https://help"), ["supportUrl"]),  # added
        (PROD, with_values(PROD, sender=None), ["sender"]),  # removed
        (PROD, with_values(PROD, sender="t@a", baseUrl="https://b"), ["baseUrl", "sender"]),
        (None, PROD, ["baseUrl", "sender"]),
        (PROD, {**PROD, "freeze": FROZEN}, []),  # not a values change
        # Kopf's last-handled spec keeps large values as a marker only: which names is unknown.
        ({**PROD, "values": {"$digest": "sha256:0"}}, PROD, None),
        ({**PROD, "values": {"$generation": 4}}, PROD, None),
    ],
)
def test_values_changed_names_each_value_set_changed_or_removed(old, new, expected):
    assert values_changed(old, new) == expected


def told_for(old: Any, new: Any, who: str = "alice", clients: int = 1) -> str | None:
    return values_told(values_changed(old, new) or [], old, new, who, clients)


def test_a_protected_environments_values_change_names_the_values_the_writer_and_the_clients():
    told = told_for(PROD, with_values(PROD, baseUrl="https://b", supportUrl="https://help"), clients=3)
    assert told == "spec.values baseUrl, supportUrl changed by alice: served to 3 ApiClients without a Promotion"
    assert "https://b" not in told, "contents are never told"
    assert told_for(PROD, with_values(PROD, baseUrl="https://b"), clients=1) == (
        "spec.values baseUrl changed by alice: served to 1 ApiClient without a Promotion"
    )


def test_protection_decides_whether_a_values_change_is_told():
    assert told_for(DEV, with_values(DEV, baseUrl="https://b"), clients=3) is None
    # The tier's default protection, or protection switched on or off in the same change.
    staging = {**DEV, "tier": "Staging", "upstream": "dev"}
    assert told_for(staging, with_values(staging, baseUrl="https://b"), clients=1) is not None
    assert told_for({**PROD, "protected": False}, with_values(PROD, baseUrl="https://b"), clients=1) is not None
    assert told_for(PROD, {**with_values(PROD, baseUrl="https://b"), "protected": False}, clients=1) is not None
    assert told_for(PROD, PROD, clients=1) is None


def test_a_values_change_while_frozen_says_it_waits_for_the_freeze():
    frozen = {**PROD, "freeze": FROZEN}
    told = told_for(frozen, with_values(frozen, baseUrl="https://b"), clients=2)
    assert told == (
        "spec.values baseUrl changed by alice while the environment is frozen (release week): 2 ApiClients keep what "
        "they serve until the freeze is lifted, then are served the new values without a Promotion"
    )


def test_clients_using_values_counts_clients_rendered_with_a_named_value():
    entries = [{"values": {"baseUrl": "d1"}}, {"values": {"sender": "d2"}}, {"values": None}, {}]
    assert fanout.clients_using_values(entries, ["baseUrl"]) == 1
    assert fanout.clients_using_values(entries, ["baseUrl", "sender"]) == 2
    assert fanout.clients_using_values(entries, ["supportUrl"]) == 0


def env_body(spec: dict[str, Any], writer: str | None = "alice") -> dict[str, Any]:
    annotations = {names.ANN_CHANGED_BY: writer} if writer else {}
    return {"metadata": {"name": "prod", "annotations": annotations}, "spec": spec}


def entry(**rendered: str) -> dict[str, Any]:
    """An ApiClient index entry: the values its ConfigMap was rendered with (digests)."""
    return {"values": values.digests(rendered)}


CLIENTS = [entry(baseUrl="https://a"), entry(baseUrl="https://a", sender="s@a"), entry(sender="s@a"), entry()]


def audit(old: Any, new: Any, writer: str | None = "alice", clients: Any = CLIENTS) -> list[tuple[Any, ...]]:
    posted: list[tuple[Any, ...]] = []
    environmentaudit.report_values_changed(env_body(new, writer), old, new, lambda *a: posted.append(a[1:]), clients)
    return posted


def test_the_warning_goes_out_as_values_changed_on_the_environment():
    new = with_values(PROD, baseUrl="https://b")
    assert audit(PROD, new) == [
        ("Warning", "ValuesChanged", "spec.values baseUrl changed by alice: served to 2 ApiClients without a Promotion")
    ]
    assert "changed by an unrecorded writer" in audit(PROD, new, None)[0][2]


def test_without_the_old_values_the_names_are_those_clients_were_rendered_otherwise():
    new = with_values(PROD, sender="t@a")
    marker = {**PROD, "values": {"$generation": 3}}
    assert audit(marker, new) == [
        ("Warning", "ValuesChanged", "spec.values sender changed by alice: served to 2 ApiClients without a Promotion")
    ]
    assert audit(marker, PROD) == [], "nothing any client was rendered with changed"


def test_the_new_values_are_read_from_the_body_not_kopfs_shrunk_essence():
    new = with_values(PROD, baseUrl="https://b")
    posted: list[tuple[Any, ...]] = []
    shrunk = {**new, "values": {"$generation": 5}}
    environmentaudit.report_values_changed(env_body(new), PROD, shrunk, lambda *a: posted.append(a[1:]), CLIENTS)
    assert [message for _, _, message in posted] == [
        "spec.values baseUrl changed by alice: served to 2 ApiClients without a Promotion"
    ]


def test_no_warning_without_a_values_change_or_protection():
    assert audit(PROD, {**PROD, "freeze": FROZEN}) == []
    assert audit(DEV, with_values(DEV, baseUrl="https://b")) == []
