"""RFC 7386 merge patches applied locally, as the API server applies them to a status."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowops.domain.mergepatch import apply_merge_patch

# RFC 7386, Appendix A: every example, verbatim.
RFC_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "expected"), RFC_EXAMPLES)
def test_rfc_7386_examples(target: Any, patch: Any, expected: Any) -> None:
    assert apply_merge_patch(target, patch) == expected


def test_a_flow_status_update_keeps_what_other_writers_set() -> None:
    """The commit's status names every field it owns (None to clear one); sync, tampered and
    lastPromotion are written by others and must survive."""
    previous = {
        "observedGeneration": 3,
        "latestCreatedVersion": "v2",
        "lastCommit": "fix",
        "sync": {"state": "InSync", "upstream": "dev"},
        "lastPromotion": {"name": "p1"},
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    changes = {
        "observedGeneration": 4,
        "latestCreatedVersion": "v3",
        "lastCommit": None,
        "conditions": [{"type": "Ready", "status": "False"}],
    }
    assert apply_merge_patch(previous, changes) == {
        "observedGeneration": 4,
        "latestCreatedVersion": "v3",
        "sync": {"state": "InSync", "upstream": "dev"},
        "lastPromotion": {"name": "p1"},
        "conditions": [{"type": "Ready", "status": "False"}],
    }


def test_neither_argument_is_changed() -> None:
    target = {"a": {"b": 1, "c": 2}, "d": 3}
    patch = {"a": {"b": None, "e": {"f": 1}}}
    before = copy.deepcopy((target, patch))
    apply_merge_patch(target, patch)
    assert (target, patch) == before


def test_a_missing_status_is_an_empty_one() -> None:
    assert apply_merge_patch(None, {"a": 1, "b": None}) == {"a": 1}
