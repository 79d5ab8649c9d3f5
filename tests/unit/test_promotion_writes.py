"""A Promotion's status is written only onto the Promotion as it was decided on: its uid,
generation and status. Metadata others write (Kopf's progress notes after a retry, a GitOps
tool's annotation) refuses nothing; a moved status or spec refuses the write."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from flowops.kube import PROMOTIONS, Invalid, NotFound
from flowops.services import promotionwrites
from flowops.services.common import RetryLater

READ = {
    "metadata": {"name": "p1", "namespace": "ns", "uid": "u1", "resourceVersion": "40", "generation": 1},
    "spec": {"source": {"environment": "dev", "flow": "login"}},
    "status": {"observedGeneration": 0},
}
CLAIM = {"phase": "Running", "sourceVersion": "v1"}


class ApiServer:
    """Applies JSON Patches to one stored Promotion as the API server does: a failed test
    or a missing parent is 422, and nothing is written."""

    def __init__(self, stored: dict[str, Any] | None) -> None:
        self.stored = copy.deepcopy(stored)
        self.writes = 0

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        return copy.deepcopy(self.stored)

    def json_patch(self, resource: Any, name: str, ops: list, namespace=None, subresource=None, metadata_only=False):
        assert resource is PROMOTIONS and subresource == "status"
        if self.stored is None:
            raise NotFound(404, "NotFound", "promotions p1 not found")
        try:
            patched = jsonpatch.apply_patch(self.stored, ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise Invalid(422, "Invalid", str(exc)) from None
        self.writes += 1
        patched["metadata"]["resourceVersion"] = str(int(patched["metadata"]["resourceVersion"]) + 1)
        self.stored = patched
        return {"metadata": patched["metadata"]} if metadata_only else copy.deepcopy(patched)


def moved(**changes: Any) -> dict[str, Any]:
    stored = copy.deepcopy(READ)
    for path, value in changes.items():
        section, key = path.split("__")
        stored[section][key] = value
    stored["metadata"]["resourceVersion"] = "41"
    return stored


def test_a_write_lands_over_metadata_others_wrote_since():
    stored = moved(metadata__annotations={"kopf.flowops.io/reconcile_promotion": '{"retries": 1}'})
    server = ApiServer(stored)
    answer = promotionwrites.write_status(server, READ, CLAIM, whole=True)  # type: ignore[arg-type]
    assert answer is not None and answer["status"] == {"observedGeneration": 0, **CLAIM}
    assert answer["metadata"]["annotations"], "the annotation written since stays"


@pytest.mark.parametrize(
    "stored",
    [moved(status__phase="Running"), moved(metadata__generation=2)],
    ids=["its status moved (another process claimed it)", "its spec moved (approved since)"],
)
def test_a_write_over_a_moved_status_or_spec_is_refused_and_decided_again(stored):
    server = ApiServer(stored)
    with pytest.raises(RetryLater, match="promotion p1 changed since it was read; deciding again"):
        promotionwrites.write_status(server, READ, CLAIM)  # type: ignore[arg-type]
    assert server.stored == stored and server.writes == 0


def test_nothing_is_written_to_a_deleted_or_re_created_promotion():
    assert promotionwrites.write_status(ApiServer(None), READ, CLAIM) is None  # type: ignore[arg-type]
    namesake = moved(metadata__uid="u2")
    server = ApiServer(namesake)
    assert promotionwrites.write_status(server, READ, CLAIM) is None  # type: ignore[arg-type]
    assert server.stored == namesake


def test_a_promotion_without_a_status_gets_one_whole():
    read = {key: value for key, value in READ.items() if key != "status"}
    server = ApiServer(read)
    promotionwrites.write_status(server, read, CLAIM)  # type: ignore[arg-type]
    assert server.stored is not None and server.stored["status"] == CLAIM


def test_a_promotion_given_a_status_meanwhile_is_decided_again():
    read = {key: value for key, value in READ.items() if key != "status"}
    server = ApiServer(READ)
    with pytest.raises(RetryLater):
        promotionwrites.write_status(server, read, CLAIM)  # type: ignore[arg-type]
    assert server.writes == 0


def test_as_decided_ignores_metadata_only():
    assert promotionwrites.as_decided(moved(metadata__labels={"a": "b"}), READ)
    assert not promotionwrites.as_decided(moved(status__message="other"), READ)
    assert not promotionwrites.as_decided(moved(metadata__uid="u2"), READ)
