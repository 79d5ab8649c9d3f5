"""A Promotion reads the target's HEAD document while the whole target Flow is still being
read: the versions' owner is guessed from the newest one, and a wrong guess costs a read,
never a wrong document."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from flowops import names
from flowops.domain import storage
from flowops.runtime import Runtime
from flowops.services import versions
from flowops.services.promotions import _target_side, _trusted


def item(number: int, owner: str | None = None, ready: bool = True, numbered: bool = True) -> dict[str, Any]:
    labels = {names.LABEL_FLOW: "login", names.LABEL_VERSION: f"id-{number}", names.LABEL_READY: str(ready).lower()}
    if numbered:
        labels[names.LABEL_NUMBER] = str(number)
    meta: dict[str, Any] = {"name": f"login-{number:05d}", "labels": labels, "annotations": {}}
    if owner is not None:
        meta["ownerReferences"] = [{"kind": "Flow", "name": "login", "uid": owner}]
    return {"metadata": meta}


def document(number: int) -> dict[str, Any]:
    return {"title": f"version {number}"}


class FakeKube:
    """Serves every version's object (a Full document naming its number) and the stored
    Flow (uid `stored`, or none), and counts reads."""

    def __init__(self, stored: str | None = None) -> None:
        self.read: list[str] = []
        self.stored = stored

    def get(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.read.append(name)
        number = int(name.rsplit("-", 1)[1])
        return {"metadata": {"name": name}, "spec": {"storage": storage.encode(document(number)).to_spec()}}

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        self.read.append(f"stored {name}")
        return flow_object(self.stored) if self.stored is not None else None


def flow_object(uid: str) -> dict[str, Any]:
    return {"metadata": {"name": "login", "namespace": "staging", "uid": uid}}


def flow(uid: str | None) -> Future[dict[str, Any] | None]:
    """The Flow as the watch cache answered for it."""
    read: Future[dict[str, Any] | None] = Future()
    read.set_result(flow_object(uid) if uid is not None else None)
    return read


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], None),
        ([item(1, "a"), item(3, "b"), item(2, "a")], "b"),
        ([item(1, "a"), item(2)], None),  # the newest is retained history: it has no owner
        ([item(1, "a"), item(9, "b", numbered=False)], "a"),  # an unnumbered object is no version
    ],
)
def test_the_guessed_owner_is_that_of_the_newest_numbered_version(items: list[dict[str, Any]], expected: str | None) -> None:
    assert versions.newest_owner(items) == expected


def test_a_right_guess_reads_heads_document_once() -> None:
    kube = FakeKube()
    side = _target_side(
        Runtime(kube=kube), "staging", "login", flow("u2"), [item(1, "u2"), item(2, "u2"), item(3, "u2", ready=False)]
    )  # type: ignore[arg-type]
    assert side.head is not None and side.head.number == 2, "the newest ready version is HEAD"
    assert side.document == document(2)
    assert kube.read == ["login-00002"]


def test_a_wrong_guess_reads_the_real_heads_document() -> None:
    # A Flow re-created a moment ago: the deleted namesake's version 3 is listed until it is
    # collected; the new Flow has only the retained history (no owner) to serve.
    kube = FakeKube(stored="new")
    listed = [item(1), item(2), item(3, "old")]
    side = _target_side(Runtime(kube=kube), "staging", "login", flow("new"), listed)  # type: ignore[arg-type]
    assert side.head is not None and side.head.number == 2
    assert side.document == document(2), "the guessed HEAD's document is not taken for the real one"
    assert kube.read == ["login-00003", "stored login", "login-00002"], "the cache's uid is confirmed from storage"


def test_a_cache_lagging_a_re_creation_is_not_taken_for_the_flow() -> None:
    # The watch cache still holds the deleted Flow ("old"); storage has its successor, whose
    # first version is the newest listed.
    kube = FakeKube(stored="new")
    side = _target_side(Runtime(kube=kube), "staging", "login", flow("old"), [item(1, "old"), item(2, "new")])  # type: ignore[arg-type]
    assert side.metadata is not None and side.metadata["uid"] == "new"
    assert side.head is not None and side.head.number == 2
    assert [r.number for r in side.records] == [2], "the deleted Flow's versions are not the target's"


def test_a_flow_the_cache_has_not_seen_yet_is_read_from_storage() -> None:
    kube = FakeKube(stored="u1")
    side = _target_side(Runtime(kube=kube), "staging", "login", flow(None), [item(1, "u1")])  # type: ignore[arg-type]
    assert side.flow_found and side.head is not None and side.head.number == 1
    assert "stored login" in kube.read


def test_no_target_flow_means_no_target_side() -> None:
    kube = FakeKube(stored=None)
    side = _target_side(Runtime(kube=kube), "staging", "login", flow(None), [item(1, "gone")])  # type: ignore[arg-type]
    assert not side.flow_found and side.document is None
    assert kube.read[-1] == "stored login", "absence is confirmed from storage, not taken from the cache"


@pytest.mark.parametrize(
    ("cached", "items", "trusted"),
    [
        (None, [], False),  # absent: perhaps created a moment ago
        ("u1", [], True),  # no versions yet to contradict it
        ("u1", [item(1, "u1"), item(2, "u1")], True),
        ("u1", [item(1, "u1"), item(2)], True),  # the newest is retained history: no owner to compare
        ("old", [item(1, "old"), item(2, "new")], False),  # re-created since the cache saw it
    ],
)
def test_a_cached_flow_stands_for_the_stored_one_only_when_the_versions_agree(
    cached: str | None, items: list[dict[str, Any]], trusted: bool
) -> None:
    assert _trusted(flow_object(cached) if cached is not None else None, items) is trusted
