"""What a commit may take from memory instead of the API server, and when it must not."""

from __future__ import annotations

from typing import Any

from flowops.domain import storage
from flowops.domain.commit import VersionRecord
from flowops.services.flows import _still_stored
from flowops.services.recordcache import RecordCache
from flowops.services.versions import _KeyframeCache


def record(number: int, origin: str = "Commit") -> VersionRecord:
    return VersionRecord(name=f"f-{number:05d}", id=f"id-{number}", number=number, content_hash=f"h{number}", origin=origin)  # type: ignore[arg-type]


def flow(uid: str = "u1", newest: int | None = 2, count: int | None = 2, name: str = "f") -> dict[str, Any]:
    return {
        "metadata": {"namespace": "dev", "name": name, "uid": uid},
        "status": {"latestCreatedNumber": newest, "versionCount": count},
    }


def test_held_versions_are_used_while_the_status_names_their_newest_and_count() -> None:
    cache = RecordCache(budget=100)
    cache.put(flow(), [record(2), record(1)])
    assert [r.number for r in cache.get(flow()) or []] == [1, 2]


def test_another_writers_version_in_status_means_list_again() -> None:
    cache = RecordCache(budget=100)
    cache.put(flow(), [record(1), record(2)])
    assert cache.get(flow(newest=3, count=3)) is None  # another process committed 3
    assert cache.get(flow(newest=2, count=1)) is None  # another process pruned one


def test_a_recreated_flow_of_the_same_name_does_not_inherit_versions() -> None:
    cache = RecordCache(budget=100)
    cache.put(flow(uid="old"), [record(1), record(2)])
    assert cache.get(flow(uid="new")) is None


def test_quarantined_copies_do_not_count_as_the_newest_commit() -> None:
    cache = RecordCache(budget=100)
    cache.put(flow(count=3), [record(1), record(2), record(3, origin="Quarantine")])
    assert cache.get(flow(newest=2, count=3)) is not None


def test_forgotten_entries_are_listed_again() -> None:
    cache = RecordCache(budget=100)
    cache.put(flow(), [record(1), record(2)])
    cache.forget("dev", "f")
    assert cache.get(flow()) is None


def test_the_budget_counts_records_and_drops_the_least_recently_used_flow() -> None:
    cache = RecordCache(budget=8)
    cache.put(flow(name="a"), [record(1), record(2)])
    cache.put(flow(name="b"), [record(1), record(2)])
    cache.put(flow(name="c"), [record(1), record(2)])
    assert cache.get(flow(name="a")) is not None  # a is now the most recent
    cache.put(flow(name="d"), [record(1), record(2)])
    cache.put(flow(name="e"), [record(1), record(2)])
    assert cache.get(flow(name="b")) is None
    assert cache.get(flow(name="a")) is not None
    cache.put(flow(name="big", count=3, newest=3), [record(1), record(2), record(3)])  # more than a quarter: not held
    assert cache.get(flow(name="big", count=3, newest=3)) is None


def test_a_packed_keyframe_is_unpacked_when_its_decoded_copy_was_evicted() -> None:
    documents = {name: {"name": name, "text": "x" * 400} for name in "abcdef"}
    cache = _KeyframeCache(budget=1_000, packed_budget=100_000)
    for name, document in documents.items():
        cache.put(("dev", name, "v1"), document, storage.encode(document))
    # Six documents of ~420 bytes do not fit the decoded budget; all fit packed.
    assert all(cache.get(("dev", name, "v1")) == document for name, document in documents.items())


def test_packed_keyframes_have_a_budget_of_their_own() -> None:
    cache = _KeyframeCache(budget=0, packed_budget=600)
    stored = [(name, storage.encode({"name": name, "n": list(range(30))})) for name in "abcdefghij"]
    for name, packed in stored:
        cache.put(("dev", name, "v1"), {"name": name}, packed)
    held = [name for name, _ in stored if cache.get(("dev", name, "v1")) is not None]
    assert held and "a" not in held and held == [name for name, _ in stored][-len(held) :]
    assert sum(len(p.data) for name, p in stored if name in held) <= 600


def item(number: int | None, owner: str | None = None) -> dict[str, Any]:
    labels = {"flowops.io/flow": "f"} | ({"flowops.io/number": str(number)} if number is not None else {})
    meta: dict[str, Any] = {"name": f"f-{number or 0:05d}", "labels": labels}
    if owner:
        meta["ownerReferences"] = [{"kind": "Flow", "uid": owner}]
    return {"metadata": meta}


def test_the_versions_listed_before_a_commit_serve_the_deletion_policy_without_a_second_list() -> None:
    listed = [item(1, "u1"), item(2, "u1"), item(3), item(7, "gone"), item(None, "u1")]
    # Retention has just pruned version 1 of this Flow: it is no longer in the records.
    kept = _still_stored(listed, [record(2), record(3)], "u1")
    assert [i["metadata"]["name"] for i in kept or []] == ["f-00002", "f-00003", "f-00007", "f-00000"]
    assert _still_stored(None, [record(2)], "u1") is None  # not listed here: follow_policy lists
