"""The operator's Flow status writes on a real API server: one PUT of the status against
the Flow as read, which leaves the document, its owners and other writers' status alone."""

from __future__ import annotations

from flowops.domain.flowstatus import COMPUTED_FROM
from flowops.kube import FLOWS
from flowops.services.statuswrite import write_status
from flowops.testing.objects import barrier, flow, flow_status, wait_for_number
from flowops.testing.waiting import wait_until

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
    # The operator's last write of it (Kopf's record of what it handled) follows the status
    # it waited for: read only once it is done, so the PUT has a current resourceVersion.
    barrier(kube, FLOWS, namespace, "login")
    read = kube.get(FLOWS, "login", namespace)
    assert _content_owner(read) == {"alice-editor"}

    written = write_status(kube, FLOWS, read, {"lastCommit": "release 1", "uncommitted": None}, guard=())

    after = kube.get(FLOWS, "login", namespace)
    # What it returns is the Flow as stored, so the next status write can build on it.
    assert written is not None
    assert (written["metadata"]["resourceVersion"], written["status"]) == (after["metadata"]["resourceVersion"], after["status"])
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

    changes = {"lastCommit": "from the stale view"}
    assert write_status(kube, FLOWS, stale, changes, guard=COMPUTED_FROM) is None, "nothing exact to build on"

    status = kube.get(FLOWS, "login", namespace)["status"]
    assert status["lastCommit"] == "from the stale view"
    assert status["tampered"] == tampered, "a write based on an older read must not undo a later one"


def test_the_sync_report_after_a_commit_builds_on_the_commits_status_write(kube, make_environment, running_operator):
    """A downstream flow's commit writes its status, then its sync report: the report's
    write must keep every field the commit wrote."""
    dev = make_environment()
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
    for env in (dev, staging):
        kube.create(FLOWS, flow("login", DOCUMENT), env["spec"]["namespace"])
    status = wait_for_number(kube, staging["spec"]["namespace"], "login", 1)
    edited = {**DOCUMENT, "translations": {"en": {"title": "Welcome"}}}
    kube.merge_patch(FLOWS, "login", {"spec": {"content": edited}}, staging["spec"]["namespace"])
    status = wait_for_number(kube, staging["spec"]["namespace"], "login", 2)
    wait_until(
        lambda: flow_status(kube, staging["spec"]["namespace"], "login"),
        lambda s: (s.get("sync") or {}).get("version") == s["latestReadyVersion"],
        message="the sync report names the new HEAD",
    )
    status = flow_status(kube, staging["spec"]["namespace"], "login")
    assert status["sync"]["state"] == "OutOfSync" and status["sync"]["differingPaths"] == 1
    assert (status["latestCreatedNumber"], status["versionCount"]) == (2, 2)


def test_a_status_write_refused_as_a_put_lands_only_over_the_view_it_was_computed_from(kube, make_environment, running_operator):
    """Refused as a PUT, the write goes out as a JSON Patch holding what it was computed
    from: the API server applies it after a change of the Flow's metadata only (null still
    clears a field), and refuses it, writing nothing, once a newer view was published."""
    import pytest

    from flowops.services.common import RetryLater

    namespace = make_environment()["spec"]["namespace"]
    kube.create(FLOWS, flow("login", DOCUMENT), namespace)
    wait_for_number(kube, namespace, "login", 1)
    barrier(kube, FLOWS, namespace, "login")
    read = kube.get(FLOWS, "login", namespace)
    barrier(kube, FLOWS, namespace, "login")  # its metadata moves; the operator has nothing to write
    assert kube.get(FLOWS, "login", namespace)["metadata"]["resourceVersion"] != read["metadata"]["resourceVersion"]

    changes = {"lastCommit": "over metadata only", "uncommitted": None}
    assert write_status(kube, FLOWS, read, changes, guard=COMPUTED_FROM) is None

    status = flow_status(kube, namespace, "login")
    assert status["lastCommit"] == "over metadata only" and "uncommitted" not in status
    assert status["latestReadyNumber"] == read["status"]["latestReadyNumber"]

    # Another writer publishes a view with more versions.
    kube.patch_status(FLOWS, "login", {"versionCount": read["status"]["versionCount"] + 1}, namespace)
    with pytest.raises(RetryLater):
        write_status(kube, FLOWS, read, {"lastCommit": "from the older view"}, guard=COMPUTED_FROM)

    status = flow_status(kube, namespace, "login")
    assert status["lastCommit"] == "over metadata only", "nothing of the refused write landed"
    assert status["versionCount"] == read["status"]["versionCount"] + 1
