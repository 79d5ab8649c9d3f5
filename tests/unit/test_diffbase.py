import itertools
import json

import kopf

from flowops.diffbase import DIGEST_THRESHOLD_BYTES, DigestDiffBaseStorage, _shrink


def test_small_values_are_kept_as_they_are():
    value = {"title": "Sign in", "steps": [1, 2, 3]}
    assert _shrink(value) == value


def test_large_values_become_digests_strings_included():
    assert set(_shrink("a" * 1_100_000)) == {"$digest"}
    assert set(_shrink(list(range(1000)))) == {"$digest"}
    assert len(json.dumps(_shrink({"blob": "a" * 1_100_000}))) < 2 * DIGEST_THRESHOLD_BYTES


def test_digests_change_exactly_when_the_value_changes():
    assert _shrink("a" * 5000) == _shrink("a" * 5000)
    assert _shrink("a" * 5000) != _shrink("a" * 4999 + "b")


def _flow(content, resource_version="1", labels=None):
    return kopf.Body(
        {
            "apiVersion": "flowops.io/v1alpha1",
            "kind": "Flow",
            "metadata": {
                "name": "signin",
                "namespace": "dev",
                "uid": "u-1",
                "resourceVersion": resource_version,
                "labels": labels or {"team": "id"},
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"spec": {"content": content}}),
                    "flowops.io/change-cause": "typo",
                },
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {"content": content, "versioning": {"mode": "Auto"}},
            "status": {"versionCount": 3},
        }
    )


def test_essence_holds_a_digest_of_the_document_and_no_copy_of_it():
    storage = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    document = {"fields": ["x" * 100] * 200}
    essence = storage.build(body=_flow(document))
    assert set(essence["spec"]["content"]) == {"$digest"}
    assert essence["spec"]["versioning"] == {"mode": "Auto"}
    assert essence["metadata"]["labels"] == {"team": "id"}
    # kubectl's last-applied annotation carries the whole document: it must not be kept.
    assert essence["metadata"]["annotations"] == {"flowops.io/change-cause": "typo"}
    assert "status" not in essence and "managedFields" not in json.dumps(essence)
    assert len(json.dumps(essence)) < DIGEST_THRESHOLD_BYTES


def test_essence_changes_with_content_or_labels_and_not_otherwise():
    storage = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    document = {"fields": ["x" * 100] * 200}
    first = storage.build(body=_flow(document, "1"))
    assert storage.build(body=_flow(document, "2")) == first
    assert storage.build(body=_flow({**document, "title": "new"}, "3")) != first
    assert storage.build(body=_flow(document, "4", labels={"team": "other"})) != first


def test_a_memoised_essence_cannot_be_changed_through_a_returned_copy():
    storage = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    body = _flow({"fields": ["x" * 100] * 200})
    storage.build(body=body)["spec"]["versioning"]["mode"] = "Manual"
    assert storage.build(body=body)["spec"]["versioning"] == {"mode": "Auto"}


def _generational(generation: int, content: object, resource_version: str = "1", stored: dict | None = None) -> kopf.Body:
    annotations = {"kopf.flowops.io/last-handled": json.dumps(stored)} if stored is not None else {}
    return kopf.Body(
        {
            "metadata": {
                "name": "f",
                "namespace": "dev",
                "uid": "u-1",
                "resourceVersion": resource_version,
                "generation": generation,
                "annotations": annotations,
            },
            "spec": {"content": content, "versioning": {"mode": "Auto"}},
        }
    )


def test_the_spec_is_serialised_once_per_generation(monkeypatch):
    import flowops.diffbase as diffbase

    calls: list[int] = []
    real = diffbase._shrink
    monkeypatch.setattr(diffbase, "_shrink", lambda *args: calls.append(1) or real(*args))
    storage = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    content = {"text": "x" * 5000}

    # One call per spec value (content and versioning) per generation.
    first = storage.build(body=_generational(1, content, "1"))
    status_write = storage.build(body=_generational(1, content, "2"))  # a status write: same generation
    assert first == status_write and len(calls) == 2
    edited = storage.build(body=_generational(2, {"text": "y" * 5000}, "3"))  # a spec change bumps the generation
    assert edited["spec"] != first["spec"] and len(calls) == 4


def test_a_large_document_is_marked_by_its_generation_without_being_serialised(monkeypatch):
    import flowops.diffbase as diffbase

    def refuse(value):
        raise AssertionError(f"serialised {str(value)[:40]}")

    storage = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    document = {"fields": [{"id": str(i), "label": "x" * 50} for i in range(2000)]}
    monkeypatch.setattr(diffbase, "_encode", lambda value: refuse(value) if value is document else json.dumps(value).encode())
    essence = storage.build(body=_generational(7, document))
    assert essence["spec"]["content"] == {"$generation": 7}
    assert essence["spec"]["versioning"] == {"mode": "Auto"}  # small values stay readable
    assert storage.build(body=_generational(8, document, "2"))["spec"] != essence["spec"]


def test_an_essence_written_with_digests_reads_as_unchanged_after_an_upgrade():
    storage = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    document = {"fields": [{"id": str(i)} for i in range(500)]}
    old = {"spec": {"content": _shrink(document), "versioning": {"mode": "Auto"}}}
    unchanged = _generational(3, document, stored=old)
    assert storage.fetch(body=unchanged) == {"spec": storage.build(body=unchanged)["spec"]}
    # Changed while the operator was being upgraded: still a change.
    edited = _generational(4, {**document, "title": "new"}, "2", stored=old)
    assert storage.fetch(body=edited)["spec"]["content"] == old["spec"]["content"]
    assert storage.build(body=edited)["spec"]["content"] == {"$generation": 4}


def test_an_unchanged_upgraded_essence_is_compared_once_per_generation(monkeypatch):
    import flowops.diffbase as diffbase

    storage = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    document = {"fields": [{"id": str(i)} for i in range(500)]}
    old = {"spec": {"content": _shrink(document), "versioning": {"mode": "Auto"}}}
    serialised: list[object] = []
    real = diffbase._encode
    monkeypatch.setattr(diffbase, "_encode", lambda value: serialised.append(value) or real(value))
    for resource_version in ("1", "2", "3"):  # status writes: the stored essence stays the old one
        storage.fetch(body=_generational(3, document, resource_version, stored=old))
    assert sum(1 for value in serialised if value is document) == 1


_UIDS = itertools.count()


def _annotated(kind: str, labels: dict | None, annotations: dict | None, owners: list | None = None) -> kopf.Body:
    # A uid per body: essences are memoised by uid and resourceVersion.
    metadata: dict = {"name": "f", "namespace": "dev", "uid": f"u-{next(_UIDS)}", "resourceVersion": "9", "generation": 2}
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    if owners is not None:
        metadata["ownerReferences"] = owners
    return kopf.Body({"apiVersion": "v1", "kind": kind, "metadata": metadata, "spec": {"content": {"title": "x"}}})


ANNOTATION_CASES = {
    "labels and ours": ({"team": "id"}, {"flowops.io/change-cause": "typo", "kopf.flowops.io/last-handled": "{}"}),
    "kubectl's copy only": (None, {"kubectl.kubernetes.io/last-applied-configuration": "{}"}),
    "empty stanzas": ({}, {}),
    "no metadata stanzas": (None, None),
    "another Kopf operator's records": (
        {"a": "b"},
        {
            "other.example.com/kopf-managed": "yes",
            "other.example.com/last-handled-configuration": "{}",
            "kopf.zalando.org/last-handled-configuration": "{}",
            "sub.kopf.zalando.org/handler": "{}",
            "example.com/note": "kept",
        },
    ),
    "our progress records": (None, {"kopf.flowops.io/flow_changed": '{"started": "x"}', "flowops.io/approved-by": "ana"}),
}


def test_the_direct_essence_follows_kopfs_own_rules():
    """The essence is built without Kopf's generic (deep-copying) build; it must keep and drop
    exactly what Kopf's would, or a restart sees every object as changed."""
    ours = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    kopfs = kopf.AnnotationsDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    for case, (labels, annotations) in ANNOTATION_CASES.items():
        body = _annotated("Flow", labels, annotations)
        reference = kopfs.build(body=kopf.Body({**body, "spec": ours._shrunk_spec(body)}))
        assert ours.build(body=body) == reference, case


def test_the_direct_essence_drops_the_record_kopf_keeps_under_a_marked_key():
    # Kopf marks its keys on ReplicaSets owned by Deployments; the rules come from Kopf, not a copy.
    ours = DigestDiffBaseStorage(prefix="kopf.flowops.io", key="last-handled")
    owners = [{"kind": "Deployment", "name": "d"}]
    body = _annotated(
        "ReplicaSet", None, {"kopf.flowops.io/last-handled-ofDRS": "{}", "kopf.flowops.io/last-handled": "{}"}, owners
    )
    assert ours.build(body=body)["metadata"]["annotations"] == {"kopf.flowops.io/last-handled": "{}"}
