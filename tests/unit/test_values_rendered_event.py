"""A ConfigMap rewritten for a change of values alone is told to the client as
ValuesRendered, naming the values and the Environment's writer, not as a no-op-looking
BindingChanged."""

from __future__ import annotations

from typing import Any

import pytest

from flowops import names
from flowops.domain import materialise
from flowops.services import bindings_clients

from .test_values_freeze import PROD, RECORD, env_body, held


def told(before: materialise.Fingerprint | None, after: materialise.Fingerprint, writer: str | None = "alice") -> list[Any]:
    posted: list[tuple[Any, ...]] = []
    client = {"metadata": {"name": "web", "annotations": {names.ANN_CHANGED_BY: "bob-promoter"}}}
    bindings_clients._tell_rewritten(client, before, after, env_body(PROD, writer), lambda *a: posted.append(a))
    return [a[1:] for a in posted]


def test_a_change_of_values_alone_is_told_as_values_rendered_naming_the_environments_writer():
    assert told(held(baseUrl="https://a", sender="s@a"), held(baseUrl="https://b", sender="s@a")) == [
        (
            "Normal",
            "ValuesRendered",
            f"spec.values baseUrl of Environment prod changed by alice: re-rendered flow login version 1 ({RECORD.id}) "
            "with the new values (no new version)",
        )
    ]
    assert "unrecorded writer" in told(held(baseUrl="https://a"), held(baseUrl="https://b"), None)[0][2]


def test_a_new_version_is_told_as_binding_changed_naming_the_clients_writer():
    other = materialise.Fingerprint("login", "20261121093012000002", 2, "sha256:2", "RestartAll")
    ((kind, reason, message),) = told(held(baseUrl="https://a"), other)
    assert (kind, reason) == ("Normal", "BindingChanged")
    assert message.endswith("→ flow login version 2 (20261121093012000002) (ApiClient last changed by bob-promoter)")
    ((_, reason, _),) = told(None, held(baseUrl="https://a"))
    assert reason == "BindingChanged"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (held(baseUrl="a"), held(baseUrl="b"), ["baseUrl"]),
        (held(baseUrl="a", sender="x"), held(baseUrl="a"), ["sender"]),  # no longer used
        (held(baseUrl="a"), held(baseUrl="a", sender="x"), ["sender"]),
    ],
)
def test_values_rerendered_names_each_value_that_differs(before, after, expected):
    message = materialise.values_rerendered(before, after, "prod", "alice")
    assert message is not None and message.startswith(f"spec.values {', '.join(expected)} of Environment prod")


def test_values_rerendered_is_none_for_another_version_or_nothing_held():
    other = materialise.Fingerprint("login", "20261121093012000002", 2, "sha256:2", "RestartAll")
    assert materialise.values_rerendered(held(baseUrl="a"), other, "prod", "alice") is None
    assert materialise.values_rerendered(None, held(baseUrl="a"), "prod", "alice") is None
    assert materialise.values_rerendered(held(baseUrl="a"), held(baseUrl="a"), "prod", "alice") is None


def test_the_environment_index_keeps_who_last_changed_the_spec():
    import asyncio

    from flowops.handlers import indexes

    meta = {"uid": "u", "creationTimestamp": "t", "annotations": {names.ANN_CHANGED_BY: "alice", "other": "x"}}
    (entry,) = asyncio.run(indexes.environments_by_namespace(name="prod", spec=PROD, meta=meta)).values()
    assert entry["metadata"]["annotations"] == {names.ANN_CHANGED_BY: "alice"}, "only the writer: the index stays small"
    (entry,) = asyncio.run(indexes.environments_by_namespace(name="prod", spec=PROD, meta={"uid": "u"})).values()
    assert "annotations" not in entry["metadata"]
