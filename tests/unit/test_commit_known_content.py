"""A promotion's commit takes the promoted version's recorded hash and size instead of
serialising the document again, but only when the Flow holds exactly that document (an
admission policy may have altered what was written)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from flowops import names
from flowops.domain import canonical
from flowops.domain.canonical import canonical_json, content_hash
from flowops.runtime import Runtime
from flowops.services import flows
from flowops.testing.documents import identity_flow

ENV = {"metadata": {"name": "staging", "uid": "e1"}, "spec": {"namespace": "staging", "tier": "Staging"}}


class FakeKube:
    """Keeps the versions created; a status write answers with a new resourceVersion."""

    def __init__(self) -> None:
        self.versions: list[dict[str, Any]] = []
        self.revision = itertools.count(2)

    def create(self, resource: Any, body: dict[str, Any], namespace: str, metadata_only: bool = False) -> dict[str, Any]:
        self.versions.append(copy.deepcopy(body))
        return {"metadata": body["metadata"]}

    def list(self, resource: Any, namespace: str, **_: Any) -> list[dict[str, Any]]:
        return []  # no versions before the first commit

    def replace_status(self, resource: Any, name: str, status: Any, namespace: str, resource_version: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": str(next(self.revision))}}


def flow_with(content: Any, generation: int, status: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = {"name": "login", "namespace": "staging", "uid": "f1", "generation": generation, "resourceVersion": "1"}
    return {"metadata": meta, "spec": {"content": content}, "status": status or {}}


def recorded(version: dict[str, Any]) -> tuple[str, int]:
    return version["metadata"]["annotations"][names.ANN_CONTENT_HASH], version["spec"]["storage"]["bytes"]


@pytest.fixture
def committed() -> tuple[Runtime, FakeKube, Any, list[Any]]:
    """A Flow with version 1 committed: the next commit is a Delta against it."""
    kube = FakeKube()
    rt = Runtime(kube=kube)  # type: ignore[arg-type]
    first = identity_flow(["en"])
    outcome = flows.reconcile(rt, flow_with(first, 1), ENV)
    assert outcome.created is not None
    return rt, kube, outcome.status, list(rt.records.get(flow_with(first, 1, outcome.status)) or [])


def test_the_known_hash_and_size_are_used_without_serialising_the_document(committed, monkeypatch) -> None:
    rt, kube, status, records = committed
    promoted = {**identity_flow(["en"]), "title": "promoted"}
    raw = canonical_json(promoted)
    serialised: list[Any] = []
    monkeypatch.setattr(flows, "canonical_json", lambda doc: serialised.append(doc) or canonical.canonical_json(doc))
    known = flows.KnownContent(promoted, content_hash(promoted), len(raw))
    outcome = flows.reconcile_locked(rt, flow_with(copy.deepcopy(promoted), 2, status), ENV, records=records, known=known)
    assert outcome.created is not None and kube.versions[-1]["spec"]["storage"]["encoding"] == "Delta"
    assert recorded(kube.versions[-1]) == (content_hash(promoted), len(raw))
    assert outcome.status["contentHash"] == content_hash(promoted)
    assert serialised == [], "the document was serialised again"


def test_content_other_than_the_known_document_is_hashed_as_it_is(committed) -> None:
    rt, kube, status, records = committed
    planned = {**identity_flow(["en"]), "title": "promoted"}
    altered = {**copy.deepcopy(planned), "title": "altered by an admission policy"}
    known = flows.KnownContent(planned, content_hash(planned), len(canonical_json(planned)))
    outcome = flows.reconcile_locked(rt, flow_with(altered, 2, status), ENV, records=records, known=known)
    assert outcome.created is not None
    assert recorded(kube.versions[-1]) == (content_hash(altered), len(canonical_json(altered)))
    assert outcome.created.content_hash == content_hash(altered) != known.digest
