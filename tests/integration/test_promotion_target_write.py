"""A Promotion's write of its target Flow on a real API server: it replaces the Flow as it
was read for the plan, and never a content change made after that read."""

from __future__ import annotations

import pytest

from flowops.domain.promotion import TargetWrite
from flowops.kube import FLOWS
from flowops.names import ANN_PROMOTION
from flowops.services.promotiontarget import TargetChanged, write
from flowops.testing.objects import flow
from flowops.testing.waiting import wait_for

# The writes are the operator's: only it may set the provenance annotation.

PLANNED = {"steps": [{"id": "email"}, {"id": "password"}]}


def _target(name: str) -> TargetWrite:
    return TargetWrite(flow=name, document=PLANNED, transition="RestartInProgress", provenance={"uid": "p-1"}, exists=True)


def test_a_content_edit_after_the_read_is_not_overwritten(kube, kube_as, make_environment):
    namespace = make_environment()["spec"]["namespace"]
    kube.create(FLOWS, flow("login", {"steps": [{"id": "email"}]}), namespace)
    read = kube.get(FLOWS, "login", namespace)
    edited = {"steps": [{"id": "email"}, {"id": "captcha"}]}
    kube.merge_patch(FLOWS, "login", {"spec": {"content": edited}}, namespace)

    with pytest.raises(TargetChanged, match="changed after the promotion read it"):
        write(kube_as("operator"), namespace, _target("login"), read)

    after = kube.get(FLOWS, "login", namespace)
    assert after["spec"]["content"] == edited
    assert ANN_PROMOTION not in (after["metadata"].get("annotations") or {})


def test_a_flow_re_created_after_the_read_is_not_overwritten(kube, kube_as, make_environment):
    # The read may come from the watch cache, a moment behind: the Flow it saw was deleted
    # and another made under its name, at the same generation.
    namespace = make_environment()["spec"]["namespace"]
    kube.create(FLOWS, flow("login", {"steps": [{"id": "email"}]}), namespace)
    read = kube.get(FLOWS, "login", namespace)
    kube.delete(FLOWS, "login", namespace)
    wait_for(lambda: kube.get_or_none(FLOWS, "login", namespace) is None, message="the first Flow to be gone")
    successor = {"steps": [{"id": "passkey"}]}
    kube.create(FLOWS, flow("login", successor), namespace)
    assert kube.get(FLOWS, "login", namespace)["metadata"]["generation"] == read["metadata"]["generation"]

    with pytest.raises(TargetChanged, match="changed after the promotion read it"):
        write(kube_as("operator"), namespace, _target("login"), read)

    after = kube.get(FLOWS, "login", namespace)
    assert after["spec"]["content"] == successor
    assert ANN_PROMOTION not in (after["metadata"].get("annotations") or {})


def test_metadata_written_after_the_read_stays_and_the_content_lands(kube, kube_as, make_environment):
    namespace = make_environment()["spec"]["namespace"]
    kube.create(
        FLOWS, flow("login", {"steps": [{"id": "email"}]}, versioning={"mode": "Manual"}, deletionPolicy="Delete"), namespace
    )
    read = kube.get(FLOWS, "login", namespace)
    kube.merge_patch(FLOWS, "login", {"metadata": {"labels": {"team": "identity"}}}, namespace)

    written, as_read = write(kube_as("operator"), namespace, _target("login"), read)

    after = kube.get(FLOWS, "login", namespace)
    assert written["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]
    assert after["spec"]["content"] == PLANNED
    assert after["metadata"]["labels"]["team"] == "identity"
    assert after["metadata"]["annotations"][ANN_PROMOTION]
    assert (after["spec"]["versioning"]["mode"], after["spec"]["deletionPolicy"]) == ("Manual", "Delete")
    # Another write came between: what was read with the Flow (the sync report's view) is not its latest.
    assert not as_read


def test_a_target_created_by_the_write_is_written_as_read(kube, kube_as, make_environment):
    # (Over an existing Flow the running operator's own writes may come between a read and
    # the write; a Flow that does not exist yet has none.)
    namespace = make_environment()["spec"]["namespace"]
    created, as_read = write(kube_as("operator"), namespace, _target("signup"), None)
    assert as_read and created["spec"]["content"] == PLANNED
    assert kube.get(FLOWS, "signup", namespace)["metadata"]["annotations"][ANN_PROMOTION]
