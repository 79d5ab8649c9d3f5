import json

from flowops.diffbase import DIGEST_THRESHOLD_BYTES, _shrink


def test_small_values_are_kept_as_they_are():
    value = {"title": "Sign in", "steps": [1, 2, 3]}
    assert _shrink(value) == value


def test_large_values_become_digests_strings_included():
    shrunk = _shrink({"title": "big", "blob": "a" * 1_100_000, "items": list(range(1000))})
    assert shrunk["title"] == "big"
    assert set(shrunk["blob"]) == {"$digest"} and set(shrunk["items"]) == {"$digest"}
    assert len(json.dumps(shrunk)) < 4 * DIGEST_THRESHOLD_BYTES


def test_digests_change_exactly_when_the_value_changes():
    assert _shrink("a" * 5000) == _shrink("a" * 5000)
    assert _shrink("a" * 5000) != _shrink("a" * 4999 + "b")
