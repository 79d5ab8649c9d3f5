import kopf
import pytest

from flowops.diffbase import DigestDiffBaseStorage
from flowops.storagekeys import ProgressStorage

PREFIX = "kopf.flowops.io"
KEYS = [
    "flowops.handlers.flows.reconcile_flow",
    "last-handled",
    "touch-dummy",
    # Longer than a name may be: Kopf cuts and hashes it, differently for its two key forms.
    "flowops.handlers.promotions.reconcile_promotion/spec.approved.with-a-long-field-path",
    "a/b<c>",
]


def _body(kind: str, owners: list[dict] | None = None) -> kopf.Body:
    return kopf.Body({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x", "ownerReferences": owners or []}})


BODIES = {
    "a Flow": _body("Flow"),
    "a ReplicaSet of a Deployment (Kopf marks its keys)": _body("ReplicaSet", [{"kind": "Deployment", "name": "d"}]),
    "a ReplicaSet of nothing": _body("ReplicaSet"),
}


@pytest.mark.parametrize(
    ("ours", "kopfs"),
    [
        (ProgressStorage(prefix=PREFIX), kopf.AnnotationsProgressStorage(prefix=PREFIX)),
        (
            DigestDiffBaseStorage(prefix=PREFIX, key="last-handled"),
            kopf.AnnotationsDiffBaseStorage(prefix=PREFIX, key="last-handled"),
        ),
    ],
)
def test_remembered_keys_are_the_keys_kopf_forms(ours, kopfs):
    for _ in range(2):  # formed, then remembered
        for key in KEYS:
            assert list(ours.make_keys(key)) == list(kopfs.make_keys(key)), key
            for what, body in BODIES.items():
                assert list(ours.make_keys(key, body=body)) == list(kopfs.make_keys(key, body=body)), (key, what)


def test_a_marked_objects_keys_are_not_remembered_for_others():
    storage = ProgressStorage(prefix=PREFIX)
    marked = storage.make_keys("h", body=BODIES["a ReplicaSet of a Deployment (Kopf marks its keys)"])
    assert list(marked) == [f"{PREFIX}/h-ofDRS"]
    assert list(storage.make_keys("h", body=BODIES["a Flow"])) == [f"{PREFIX}/h"]


def test_progress_is_read_back_under_the_remembered_keys():
    storage = ProgressStorage(prefix=PREFIX)
    body = _body("Flow")
    patch = kopf.Patch()
    storage.store(key=kopf.HandlerId("flowops.handlers.flows.reconcile_flow"), record={"retries": 2}, body=body, patch=patch)
    stored = kopf.Body({**body, "metadata": {**body["metadata"], "annotations": dict(patch["metadata"]["annotations"])}})
    assert storage.fetch(key=kopf.HandlerId("flowops.handlers.flows.reconcile_flow"), body=stored)["retries"] == 2
