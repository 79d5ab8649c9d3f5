"""The revert of a direct edit writes over the Flow it was decided from: a refusal because
only the Flow's status moved (a sync report, Kopf's bookkeeping) writes the same decision
again; a refusal because its spec moved writes nothing more."""

from __future__ import annotations

from typing import Any

from flowops.kube import Conflict
from flowops.services import tamper

META = {"name": "standard", "namespace": "prod", "generation": 7, "resourceVersion": "100"}


class Flow:
    """One Flow whose writes are checked against its resourceVersion."""

    def __init__(self, resource_version: str, generation: int) -> None:
        self.resource_version, self.generation = resource_version, generation
        self.writes: list[str] = []

    def _check(self, version: str | None, what: str) -> None:
        if version != self.resource_version:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.writes.append(what)
        self.resource_version = str(int(self.resource_version) + 1)

    def patch_status(self, resource: Any, name: str, status: dict, namespace: str, resource_version: str) -> dict:
        self._check(resource_version, "status")
        return {"metadata": {"resourceVersion": self.resource_version}}

    def json_patch(self, resource: Any, name: str, ops: list[dict], namespace: str) -> dict:
        version = next(op["value"] for op in ops if op["path"] == "/metadata/resourceVersion")
        self._check(version, "content")
        return {"metadata": {"resourceVersion": self.resource_version}, "spec": {"content": ops[-1]["value"]}}

    def get_metadata(self, resource: Any, name: str, namespace: str) -> dict:
        return {"metadata": {"resourceVersion": self.resource_version, "generation": self.generation}}


def test_a_status_written_meanwhile_does_not_stop_the_revert() -> None:
    flow = Flow(resource_version="101", generation=7)  # a sync report landed after the event
    stored = tamper._revert(flow, META, {"tampered": {}}, {"title": "v1"})  # type: ignore[arg-type]
    assert flow.writes == ["status", "content"]
    assert stored is not None and stored["spec"]["content"] == {"title": "v1"}


def test_a_spec_changed_meanwhile_gets_nothing_written() -> None:
    flow = Flow(resource_version="104", generation=8)  # a Promotion landed after the event
    assert tamper._revert(flow, META, {"tampered": {}}, {"title": "v1"}) is None  # type: ignore[arg-type]
    assert flow.writes == []
