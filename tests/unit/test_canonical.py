import hashlib
import json
import re

import pytest

from flowops.domain.canonical import canonical_json, content_hash, hash_of_canonical


def test_key_order_and_whitespace_do_not_change_the_bytes():
    a = {"b": 1, "a": {"y": [1, 2], "x": None}}
    b = json.loads('{ "a": { "x": null, "y": [1, 2] }, "b": 1 }')
    assert canonical_json(a) == canonical_json(b) == b'{"a":{"x":null,"y":[1,2]},"b":1}'


def test_non_ascii_is_kept_as_utf8_not_escaped():
    assert canonical_json({"de": "Anmelden über {provider}"}) == '{"de":"Anmelden über {provider}"}'.encode()


def test_hash_format_and_value():
    doc = {"a": 1}
    h = content_hash(doc)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", h)
    assert h == "sha256:" + hashlib.sha256(b'{"a":1}').hexdigest()


def test_hash_of_canonical_json_is_the_content_hash():
    doc = {"b": [1, {"c": "é"}], "a": None}
    assert hash_of_canonical(canonical_json(doc)) == content_hash(doc)


def test_hash_distinguishes_json_types():
    assert content_hash({"a": 1}) != content_hash({"a": True})
    assert content_hash({"a": 1}) != content_hash({"a": 1.0})
    assert content_hash({"a": [1, 2]}) != content_hash({"a": [2, 1]})


def test_nan_is_refused():
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})
