"""A Flow's status is written only over the view it was computed from. Two processes may
handle one Flow (an old leader finishing a handler after a new one took over): a status
computed from an older list of versions, or an older spec, must never land over a newer
writer's HEAD. The PUT against the resourceVersion read is refused once anything moved;
the write that follows holds the spec and the published view of the versions as read, so
Kopf's notes in the metadata refuse nothing, a newer HEAD refuses it."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import jsonpatch
import pytest

from flowops.domain.mergepatch import apply_merge_patch
from flowops.kube import FLOWS, FLOWVERSIONS, Conflict, Invalid
from flowops.runtime import Runtime
from flowops.services import flows, versions
from flowops.services.common import RetryLater

ENV = {"metadata": {"name": "staging", "uid": "e1"}, "spec": {"namespace": "staging", "tier": "Staging"}}
C1 = {"ui": {"nodes": [{"id": "a", "text": "hello"}]}}
C2 = {**C1, "title": "two"}
C3 = {**C1, "title": "three"}


class ApiServer:
    """One stored Flow and its versions. Status writes are checked as the API server does:
    a PUT or a merge patch naming a resourceVersion only at that version (Conflict), a JSON
    Patch whose test fails writes nothing (Invalid)."""

    def __init__(self, content: Any) -> None:
        self.revision = itertools.count(11)
        self.flow: dict[str, Any] = {
            "metadata": {"name": "login", "namespace": "staging", "uid": "f1", "generation": 1, "resourceVersion": "10"},
            "spec": {"content": content},
            "status": {"observedGeneration": 0},
        }
        self.versions: list[dict[str, Any]] = []
        self.requests: list[str] = []

    def read(self) -> dict[str, Any]:
        return copy.deepcopy(self.flow)

    def _moved(self) -> dict[str, Any]:
        self.flow["metadata"]["resourceVersion"] = str(next(self.revision))
        return {"metadata": copy.deepcopy(self.flow["metadata"])}

    def edit(self, content: Any) -> None:
        self.flow["spec"]["content"] = content
        self.flow["metadata"]["generation"] += 1
        self._moved()

    def annotate(self, annotations: dict[str, str]) -> None:
        self.flow["metadata"]["annotations"] = {**(self.flow["metadata"].get("annotations") or {}), **annotations}
        self._moved()

    def create(self, resource: Any, body: dict[str, Any], namespace: str, metadata_only: bool = False) -> dict[str, Any]:
        assert resource is FLOWVERSIONS
        self.versions.append(copy.deepcopy(body))
        return {"metadata": body["metadata"]}

    def list(self, resource: Any, namespace: str, **_: Any) -> list[dict[str, Any]]:
        return copy.deepcopy(self.versions)

    def replace_status(self, resource: Any, name: str, status: Any, namespace: str, resource_version: str) -> dict[str, Any]:
        self.requests.append("put")
        if resource_version != self.flow["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.flow["status"] = copy.deepcopy(status)
        return self._moved()

    def patch_status(
        self, resource: Any, name: str, status: Any, namespace: str | None = None, resource_version: str | None = None
    ) -> dict[str, Any]:
        self.requests.append("merge-patch")
        if resource_version is not None and resource_version != self.flow["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.flow["status"] = apply_merge_patch(self.flow.get("status"), copy.deepcopy(status))
        return self._moved()

    def json_patch(self, resource: Any, name: str, ops: list, namespace=None, subresource=None, metadata_only=False):
        assert resource is FLOWS and subresource == "status"
        self.requests.append("json-patch")
        try:
            patched = jsonpatch.apply_patch(self.flow, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise Invalid(422, "Invalid", str(exc)) from None
        self.flow["status"] = patched.get("status")  # the status subresource: only status is written
        return self._moved()

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def head(server: ApiServer) -> tuple[int | None, int | None]:
    status = server.flow["status"]
    return status.get("latestReadyNumber"), status.get("observedGeneration")


def test_a_status_computed_from_an_older_view_never_lands_over_a_newer_head() -> None:
    server = ApiServer(C1)
    a, b = Runtime(kube=server), Runtime(kube=server)  # type: ignore[arg-type]
    flows.reconcile(a, server.read(), ENV)
    server.edit(C2)
    held = server.read()  # the old leader A is still handling this event of generation 2
    flows.reconcile(b, server.read(), ENV)  # the new leader B commits version 2
    records = versions.history_of(server.list(FLOWVERSIONS, "staging"), "f1")[0]  # A lists versions 1 and 2
    server.edit(C3)
    flows.reconcile(b, server.read(), ENV)  # B commits version 3 and publishes it
    assert head(server) == (3, 3)

    with pytest.raises(RetryLater):
        flows.reconcile_locked(a, held, ENV, records=list(records))

    assert head(server) == (3, 3), "HEAD stays at the newest version"


def test_a_status_computed_before_another_writer_saw_more_versions_is_refused() -> None:
    """The same spec, another view of its versions (a quarantined edit, a commit asked for
    by annotation): the generation has not moved, the published versions have."""
    server = ApiServer(C1)
    rt = Runtime(kube=server)  # type: ignore[arg-type]
    flows.reconcile(rt, server.read(), ENV)
    server.edit(C2)
    held = server.read()
    records = versions.history_of(server.list(FLOWVERSIONS, "staging"), "f1")[0]  # version 1 only
    server.patch_status(FLOWS, "login", {"versionCount": 2, "latestCreatedNumber": 2})

    with pytest.raises(RetryLater):
        flows.reconcile_locked(Runtime(kube=server), held, ENV, records=list(records))  # type: ignore[arg-type]

    assert (server.flow["status"]["versionCount"], server.flow["status"]["latestCreatedNumber"]) == (2, 2)
    assert len(server.versions) == 2, "the commit itself is made: only its status waits for the retry"


KOPF_NOTES = {"kopf.zalando.org/last-handled-configuration": "{}"}


@pytest.mark.parametrize(
    ("committed", "meanwhile"),
    [
        (False, lambda server: server.annotate(KOPF_NOTES)),
        (True, lambda server: server.annotate(KOPF_NOTES)),
        (True, lambda server: server.patch_status(FLOWS, "login", {"sync": {"state": "InSync", "version": "v1"}})),
    ],
    ids=["a new flow, Kopf's notes in the metadata", "Kopf's notes in the metadata", "a sync report"],
)
def test_a_status_lands_when_only_what_it_does_not_rest_on_moved(committed: bool, meanwhile: Any) -> None:
    server = ApiServer(C1)
    if committed:
        flows.reconcile(Runtime(kube=server), server.read(), ENV)  # type: ignore[arg-type]
        server.edit(C2)
    read = server.read()
    meanwhile(server)

    outcome = flows.reconcile(Runtime(kube=server), read, ENV)  # type: ignore[arg-type]

    assert server.requests[-2:] == ["put", "json-patch"], "refused as a PUT, written as a patch"
    assert head(server) == ((2, 2) if committed else (1, 1))
    stored = server.flow["status"]
    assert {k: stored.get(k) for k in outcome.status} == outcome.status


def test_a_status_write_over_the_object_as_read_is_one_put() -> None:
    server = ApiServer(C1)
    flows.reconcile(Runtime(kube=server), server.read(), ENV)  # type: ignore[arg-type]
    assert server.requests == ["put"]
    assert head(server) == (1, 1)
