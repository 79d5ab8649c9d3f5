"""Notes other than a Flow's reconciled status are written only over what they were
decided from, too: a process acting late must not put an older note back over a newer
writer's. The ContentAltered conditions after a revert hold the revert's spec and
conditions; an Environment's record of re-rendered values holds the values rendered."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import jsonpatch
import pytest

from flowops.domain.mergepatch import apply_merge_patch
from flowops.kube import Conflict, Invalid
from flowops.runtime import Runtime
from flowops.services import bindings, tamper
from flowops.services.common import RetryLater


class Stored:
    """One object; a status write naming a resourceVersion only at that version, a JSON
    Patch whose test fails writes nothing, as the API server does."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = copy.deepcopy(obj)
        self.revision = itertools.count(int(obj["metadata"]["resourceVersion"]) + 1)

    def move(self, path: str, value: Any) -> None:
        self.obj = jsonpatch.apply_patch(self.obj, [{"op": "add", "path": path, "value": value}])
        self.obj["metadata"]["resourceVersion"] = str(next(self.revision))

    def replace_status(self, resource: Any, name: str, status: Any, namespace: str | None, resource_version: str) -> dict:
        if resource_version != self.obj["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.move("/status", copy.deepcopy(status))
        return {"metadata": self.obj["metadata"]}

    def patch_status(
        self, resource: Any, name: str, status: Any, namespace: str | None = None, resource_version: str | None = None
    ) -> dict:
        if resource_version is not None and resource_version != self.obj["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.move("/status", apply_merge_patch(self.obj.get("status"), copy.deepcopy(status)))
        return {"metadata": self.obj["metadata"]}

    def json_patch(self, resource: Any, name: str, ops: list, namespace=None, subresource=None, metadata_only=False) -> dict:
        assert subresource == "status"
        try:
            patched = jsonpatch.apply_patch(self.obj, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise Invalid(422, "Invalid", str(exc)) from None
        self.move("/status", patched["status"])
        return {"metadata": self.obj["metadata"]}


TAMPERED = [{"type": "Tampered", "status": "True", "reason": "DirectEditReverted"}]
ALTERED = [*TAMPERED, {"type": "Ready", "status": "False", "reason": "ContentAltered"}]
REVERTED = {
    "metadata": {"name": "login", "namespace": "prod", "uid": "f1", "generation": 8, "resourceVersion": "100"},
    "spec": {"content": {"title": "v1"}},
    "status": {"observedGeneration": 7, "conditions": TAMPERED},
}


@pytest.mark.parametrize(
    ("meanwhile", "written"),
    [
        (None, True),
        (("/metadata/annotations", {"kopf.zalando.org/last-handled-configuration": "{}"}), True),
        (("/status/sync", {"state": "InSync"}), True),
        (("/status/conditions", [{"type": "Ready", "status": "True", "reason": "UpToDate"}]), False),
        (("/metadata/generation", 9), False),
    ],
    ids=["as reverted", "Kopf's notes", "a sync report", "conditions of a newer decision", "a newer spec"],
)
def test_the_altered_restore_is_noted_only_over_the_revert_as_it_left_the_flow(meanwhile, written: bool) -> None:
    flow = Stored(REVERTED)
    if meanwhile:
        flow.move(*meanwhile)
    before = copy.deepcopy(flow.obj["status"])
    if written:
        tamper.note_altered(flow, REVERTED, ALTERED)  # type: ignore[arg-type]
        assert flow.obj["status"] == {**before, "conditions": ALTERED}
    else:
        with pytest.raises(RetryLater):
            tamper.note_altered(flow, REVERTED, ALTERED)  # type: ignore[arg-type]
        assert flow.obj["status"] == before


ENV = {
    "metadata": {"name": "staging", "uid": "e1", "generation": 3, "resourceVersion": "50"},
    "spec": {"namespace": "ns-staging", "values": {"brand": "blue"}},
    "status": {"observedGeneration": 3, "flows": 2},
}
RECORD = {"time": "2026-12-01T00:00:00Z", "values": ["brand"], "flows": ["login"], "clients": ["web"]}


@pytest.mark.parametrize(
    ("meanwhile", "written"),
    [
        (("/status/flows", 3), True),
        (("/spec/protected", True), True),
        (("/spec/values/brand", "red"), False),
        (("/status/valuesRendered", {**RECORD, "values": ["brand", "logo"]}), True),
        (("/metadata/uid", "e2"), False),
    ],
    ids=["counts written", "another spec field", "newer values", "an older record", "a namesake"],
)
def test_values_rendered_are_recorded_only_while_the_values_are_those_rendered(meanwhile, written: bool) -> None:
    env = Stored(ENV)
    env.move(*meanwhile)
    before = copy.deepcopy(env.obj["status"])

    bindings._record_rendered(Runtime(kube=env), ENV, RECORD)  # type: ignore[arg-type]

    assert env.obj["status"] == ({**before, "valuesRendered": RECORD} if written else before)
