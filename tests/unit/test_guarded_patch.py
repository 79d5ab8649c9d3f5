"""The JSON Patch of a write made only onto an object as read: its tests pass exactly while
each named part is as read (an absent part: while its nearest existing ancestor is), and
its operations make each member what a merge patch would (checked with `jsonpatch`)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from flowops.domain import guardedpatch
from flowops.domain.mergepatch import apply_merge_patch

READ = {
    "metadata": {"uid": "u1", "generation": 2, "resourceVersion": "40"},
    "status": {"observedGeneration": 2, "versionCount": 2, "sync": {"state": "InSync"}},
}


def applies(doc: Any, ops: list[dict[str, Any]]) -> bool:
    try:
        jsonpatch.apply_patch(doc, ops)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
        return False
    return True


def moved(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(READ)
    return jsonpatch.apply_patch(doc, [{"op": "add", "path": path, "value": value}])


@pytest.mark.parametrize(
    ("pointers", "tests"),
    [
        (["/metadata/uid"], [("/metadata/uid", "u1")]),
        (["/status/versionCount", "/status/versionCount"], [("/status/versionCount", 2)]),
        (["/status/latestCreatedNumber"], [("/status", READ["status"])]),
        (["/status/latestReadyNumber", "/status/latestCreatedNumber"], [("/status", READ["status"])]),
        (["/status/sync/state"], [("/status/sync/state", "InSync")]),
        (["/spec/values"], None),
        ([""], None),
    ],
    ids=["present", "named twice", "absent: its parent", "two absent", "nested", "no ancestor but the object", "the object"],
)
def test_tests_hold_each_part_as_read(pointers: list[str], tests: list[tuple[str, Any]] | None) -> None:
    ops = guardedpatch.tests_as_read(READ, pointers)
    assert ops == (None if tests is None else [{"op": "test", "path": p, "value": v} for p, v in tests])


@pytest.mark.parametrize(
    ("pointer", "stored", "passes"),
    [
        ("/status/versionCount", READ, True),
        ("/status/versionCount", moved("/metadata/annotations", {"kopf": "notes"}), True),
        ("/status/versionCount", moved("/status/versionCount", 3), False),
        ("/status/latestCreatedNumber", moved("/metadata/resourceVersion", "41"), True),
        ("/status/latestCreatedNumber", moved("/status/latestCreatedNumber", 3), False),
        ("/status/latestCreatedNumber", moved("/status/sync", {"state": "OutOfSync"}), False),
    ],
)
def test_the_tests_pass_only_while_the_parts_are_as_read(pointer: str, stored: dict[str, Any], passes: bool) -> None:
    ops = guardedpatch.tests_as_read(READ, [pointer])
    assert ops is not None
    assert applies(stored, ops) is passes


@pytest.mark.parametrize(
    "changes",
    [
        {"versionCount": 3},
        {"latestCreatedNumber": 3, "latestReadyNumber": 3},
        {"sync": {"state": "OutOfSync", "differingPaths": 1}},
        {"sync": None, "uncommitted": None},
        {"sync": {"state": None}},
    ],
)
@pytest.mark.parametrize("stored", [READ, moved("/status/sync", {"state": "InSync", "note": "since"})], ids=["as read", "moved"])
def test_the_operations_make_each_member_what_a_merge_patch_of_the_read_status_would(
    changes: dict[str, Any], stored: dict[str, Any]
) -> None:
    written = jsonpatch.apply_patch(stored, guardedpatch.merge_ops(READ, "/status", changes))
    expected = dict(stored["status"])
    for key, value in changes.items():
        expected.pop(key, None)
        if value is not None:  # the member as the PUT of the read status merged with the changes has it
            expected[key] = apply_merge_patch(READ["status"], changes)[key]
    assert written["status"] == expected
    assert written["metadata"] == stored["metadata"]
