import json

import pytest

from flowops import names
from flowops.domain import materialise
from flowops.domain.canonical import canonical_json, content_hash
from flowops.domain.materialise import Fingerprint

CLIENT = {
    "apiVersion": "flowops.io/v1alpha1",
    "kind": "ApiClient",
    "metadata": {"name": "web-frontend", "namespace": "dev", "uid": "uid-1"},
}
DOC = {"title": "Sign in", "forms": {"signIn": ["identifier", "currentPassword"]}, "ü": "ß"}


def fingerprint(version="20261121093012123456", number=3, doc=DOC, transition="RestartAll"):
    return Fingerprint("login", version, number, content_hash(doc), transition)


def test_fingerprint_round_trips_through_its_annotation():
    fp = fingerprint()
    assert Fingerprint.from_annotation(fp.to_annotation()) == fp
    assert fp.describe() == "flow login version 3 (20261121093012123456)"


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "not json",
        "{}",
        json.dumps({"flow": "x"}),
        json.dumps({"flow": "x", "version": "1", "number": "n", "contentHash": "h", "transition": "t"}),
    ],
)
def test_unreadable_fingerprints_count_as_unknown(text):
    assert Fingerprint.from_annotation(text) is None


def test_configmap_holds_the_canonical_document_and_the_binding():
    fp = fingerprint()
    data = materialise.data_for(fp, canonical_json(DOC).decode())
    body = materialise.build(CLIENT, fp, data)
    assert body["metadata"]["name"] == "web-frontend-flow"
    assert body["metadata"]["namespace"] == "dev"
    assert json.loads(body["data"]["flow.json"]) == DOC
    assert body["data"]["flow.json"].encode() == canonical_json(DOC)
    assert {k: body["data"][k] for k in ("flow", "version", "number", "transition")} == {
        "flow": "login",
        "version": "20261121093012123456",
        "number": "3",
        "transition": "RestartAll",
    }
    assert body["metadata"]["labels"] == {
        names.LABEL_APICLIENT: "web-frontend",
        names.LABEL_FLOW: "login",
        names.LABEL_VERSION: "20261121093012123456",
        names.LABEL_MATERIALISED: "true",
    }
    (owner,) = body["metadata"]["ownerReferences"]
    assert owner["kind"] == "ApiClient" and owner["uid"] == "uid-1" and owner["controller"] is True
    assert materialise.fingerprint_of(body["metadata"]) == fp
    assert "resourceVersion" not in body["metadata"]


def test_rewrite_keeps_foreign_labels_and_uses_the_resource_version():
    existing = {"labels": {"team": "web", names.LABEL_VERSION: "old"}, "annotations": {"note": "x"}, "resourceVersion": "42"}
    fp = fingerprint()
    body = materialise.build(CLIENT, fp, materialise.data_for(fp, "{}"), existing)
    assert body["metadata"]["labels"]["team"] == "web"
    assert body["metadata"]["labels"][names.LABEL_VERSION] == fp.version
    assert body["metadata"]["annotations"]["note"] == "x"
    assert body["metadata"]["resourceVersion"] == "42"


def test_overlong_names_are_left_out_of_labels_not_refused():
    client = {**CLIENT, "metadata": {**CLIENT["metadata"], "name": "c" * 70}}
    fp = fingerprint()
    body = materialise.build(client, fp, materialise.data_for(fp, "{}"))
    assert names.LABEL_APICLIENT not in body["metadata"]["labels"]
    assert body["metadata"]["labels"][names.LABEL_MATERIALISED] == "true"


def test_up_to_date_compares_flow_version_and_content():
    fp = fingerprint()
    assert materialise.up_to_date(fp, "login", fp.version, fp.contentHash)
    assert not materialise.up_to_date(None, "login", fp.version, fp.contentHash)
    assert not materialise.up_to_date(fp, "checkout", fp.version, fp.contentHash)
    assert not materialise.up_to_date(fp, "login", "20261121093012123457", fp.contentHash)
    assert not materialise.up_to_date(fp, "login", fp.version, content_hash({"other": 1}))
    assert not materialise.up_to_date(fp, "login", fp.version, "")  # unknown hash: read and compare


def test_size_limit_is_one_mebibyte_of_data():
    fp = fingerprint()
    small = materialise.data_for(fp, "x" * 1000)
    assert materialise.size_problem(fp, small) is None
    overhead = materialise.data_bytes(materialise.data_for(fp, ""))
    exact = materialise.data_for(fp, "x" * (materialise.DATA_LIMIT_BYTES - overhead))
    assert materialise.data_bytes(exact) == materialise.DATA_LIMIT_BYTES
    assert materialise.size_problem(fp, exact) is None
    over = materialise.data_for(fp, "x" * (materialise.DATA_LIMIT_BYTES - overhead + 1))
    message = materialise.size_problem(fp, over)
    assert message is not None
    assert "flow login version 3" in message and "1,048,576" in message and "smaller" in message


def test_size_counts_utf8_bytes():
    assert materialise.data_bytes({"k": "ü"}) == 3


def test_ownership():
    assert materialise.ownership(None, "web", "uid-1") == "absent"
    ours = {
        "ownerReferences": [{"kind": "ApiClient", "name": "web", "uid": "uid-1"}],
        "labels": {names.LABEL_MATERIALISED: "true"},
    }
    assert materialise.ownership(ours, "web", "uid-1") == "ours"
    assert materialise.ownership(ours, "web", "uid-2") == "stale"  # a deleted client of the same name
    assert materialise.ownership(ours, "other", "uid-2") == "foreign"
    assert materialise.ownership({"labels": {"app": "x"}}, "web", "uid-1") == "foreign"
    assert (
        materialise.ownership({"ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "u"}]}, "web", "uid-1")
        == "foreign"
    )


# -- one rendering per fan-out, spliced into each client's ConfigMap ----------------------

AWKWARD = {
    "title": 'He said "null" \\ then null',
    "nested": {"null": None, "list": [None, "null", "\u2028", "ü"]},
    "greeting": "Hello $(values.company)",
}


def test_a_document_without_references_is_served_as_stored():
    raw = canonical_json(DOC)
    rendering = materialise.render(raw, {"company": "Acme"}, "dev")
    assert rendering.text == raw.decode() and rendering.text_bytes == len(raw) and rendering.used == {}
    assert rendering.content_hash == content_hash(DOC)
    assert json.loads(rendering.escaped) == rendering.text


def test_references_are_rendered_and_the_hash_stays_the_stored_documents():
    raw = canonical_json(AWKWARD)
    rendering = materialise.render(raw, {"company": "Acme"}, "dev")
    assert json.loads(rendering.text)["greeting"] == "Hello Acme"
    assert rendering.used == {"company": "Acme"}
    assert rendering.text_bytes == len(rendering.text.encode())
    assert rendering.content_hash == content_hash(AWKWARD)


def test_a_missing_value_cannot_be_rendered():
    from flowops.domain import values

    with pytest.raises(values.Unrenderable, match="company"):
        materialise.render(canonical_json(AWKWARD), {}, "dev")


@pytest.mark.parametrize("existing", [None, {"resourceVersion": "7", "labels": {"team": "null"}, "annotations": {"n": "null"}}])
def test_the_encoded_configmap_is_the_configmap(existing):
    rendering = materialise.render(canonical_json(AWKWARD), {"company": 'null "Acme"'}, "dev")
    fp = fingerprint(doc=AWKWARD)
    data = materialise.data_for(fp, rendering.text, rendering.used)
    body = materialise.build(CLIENT, fp, data, existing)
    assert json.loads(materialise.encode(body, rendering)) == body


def test_the_size_of_a_known_document_is_not_counted_again():
    rendering = materialise.render(canonical_json(AWKWARD), {"company": "Äcme"}, "dev")
    data = materialise.data_for(fingerprint(doc=AWKWARD), rendering.text, rendering.used)
    assert materialise.data_bytes(data, rendering.text_bytes) == materialise.data_bytes(data)


def _too_large(doc, env_values):
    rendering = materialise.render(canonical_json(doc), env_values, "dev")
    data = materialise.data_for(fingerprint(doc=doc), rendering.text, rendering.used)
    return rendering, materialise.size_problem(fingerprint(doc=doc), data, rendering.text_bytes, rendering)


def test_growth_is_what_each_value_adds_to_the_json_once_per_reference():
    rendering = materialise.render(canonical_json(AWKWARD | {"more": ["$(values.company)"] * 3}), {"company": 'A"é'}, "dev")
    # 'A"é' is A\"é in JSON: 5 bytes in place of $(values.company) (17), four times.
    assert rendering.growth == {"company": 4 * (5 - 17)}
    assert rendering.text_bytes - rendering.stored_bytes == 4 * (5 - 17)


def test_a_document_its_values_made_too_large_names_the_values_not_the_flow():
    doc = {"t": ["$(values.big) $(values.small)"] * 600, "once": "$(values.tiny)", "title": "x" * 20_000}
    rendering, message = _too_large(doc, {"big": "x" * 2048, "small": "y" * 100, "tiny": "z" * 40})
    assert rendering.stored_bytes < 50_000 and message is not None
    assert f"the stored document is {rendering.stored_bytes:,} bytes and {rendering.text_bytes:,} rendered" in message
    assert "grew it most: big (+1,221,000 bytes), small (+51,000 bytes), tiny (+26 bytes);" in message
    assert message.endswith("shorten those values (or reference them in fewer places)")
    assert "split it" not in message


def test_a_document_too_large_as_stored_still_says_make_the_flow_smaller():
    doc = {"t": "x" * materialise.DATA_LIMIT_BYTES, "u": "$(values.a) $(values.b) $(values.c) $(values.d)"}
    _, message = _too_large(doc, {"a": "a" * 100, "b": "b" * 200, "c": "c" * 300, "d": "d" * 400})
    assert message is not None and "make the flow smaller" in message and "and shorten those values" in message
    assert "d (+389 bytes), c (+289 bytes), b (+189 bytes) and 1 more" in message
    _, message = _too_large({"t": "x" * materialise.DATA_LIMIT_BYTES, "u": "$(values.a)"}, {"a": ""})
    assert message is not None and message.endswith("make the flow smaller (for example split it into several flows)")
