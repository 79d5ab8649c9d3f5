"""The operator's Flow status writes on a real API server: one PUT of the status against
the Flow as read, which leaves the document, its owners and other writers' status alone."""

from __future__ import annotations

from flowops.kube import FLOWS
from flowops.services.statuswrite import write_status
from flowops.testing.objects import flow, wait_for_number

DOCUMENT = {"steps": [{"id": "email", "fields": ["address"]}], "translations": {"en": {"title": "Sign in"}}}


def _content_owner(obj: dict) -> set[str]:
    return {
        entry["manager"]
        for entry in obj["metadata"].get("managedFields") or []
        if "f:content" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    }


def test_a_status_write_keeps_the_document_its_owner_and_other_writers_fields(kube, kube_as, make_environment, running_operator):
    namespace = make_environment()["spec"]["namespace"]
    kube_as("editor").apply(FLOWS, "login", flow("login", DOCUMENT), namespace, field_manager="alice-editor")
    wait_for_number(kube, namespace, "login", 1)
    read = kube.get(FLOWS, "login", namespace)
    assert _content_owner(read) == {"alice-editor"}

    write_status(kube, FLOWS, read, {"lastCommit": "release 1", "uncommitted": None})

    after = kube.get(FLOWS, "login", namespace)
    assert after["spec"] == read["spec"]
    assert _content_owner(after) == {"alice-editor"}, "the document's owner is who wrote it, not the status writer"
    assert after["status"]["lastCommit"] == "release 1"
    assert "uncommitted" not in after["status"], "null clears a field, as in a merge patch"
    # Everything the write did not name is as the operator left it.
    untouched = {k: v for k, v in read["status"].items() if k not in ("lastCommit", "uncommitted")}
    assert {k: after["status"][k] for k in untouched} == untouched


def test_a_status_write_from_a_stale_read_loses_nothing_written_since(kube, make_environment, running_operator):
    namespace = make_environment()["spec"]["namespace"]
    kube.create(FLOWS, flow("login", DOCUMENT), namespace)
    wait_for_number(kube, namespace, "login", 1)
    stale = kube.get(FLOWS, "login", namespace)
    # Another writer records a status field after that read.
    tampered = {"time": "2026-12-01T00:00:00Z", "user": "someone", "reapplied": 0}
    kube.patch_status(FLOWS, "login", {"tampered": tampered}, namespace)

    write_status(kube, FLOWS, stale, {"lastCommit": "from the stale view"})

    status = kube.get(FLOWS, "login", namespace)["status"]
    assert status["lastCommit"] == "from the stale view"
    assert status["tampered"] == tampered, "a write based on an older read must not undo a later one"
