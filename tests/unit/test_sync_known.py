"""A Promotion from the upstream namesake publishes the target's out-of-sync report in the
status write that moves HEAD, made from what the promotion read: told without a read, or
not told (the Flow's event then reports it, with reads, as before)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from flowops.domain.canonical import content_hash
from flowops.domain.commit import VersionRecord
from flowops.services import sync

DEV = {"metadata": {"name": "dev"}, "spec": {"namespace": "ns-dev"}}
STAGING = {"metadata": {"name": "staging"}, "spec": {"namespace": "ns-staging", "upstream": "dev"}}
OWNED = {"metadata": {"name": "staging"}, "spec": {"namespace": "ns-staging", "upstream": "dev", "preservedPaths": ["/links"]}}


def document(**fields: Any) -> dict[str, Any]:
    # Unique per test run: the report's path counts are kept by content hash across calls.
    return {"run": uuid.uuid4().hex, "links": {"login": "https://dev"}, "title": "Sign in", **fields}


def version(number: int, doc: Any) -> VersionRecord:
    return VersionRecord(f"login-{number:05d}", f"2026120200000000000{number}", number, content_hash(doc), ready=True)


def test_the_same_content_on_both_sides_is_in_sync_without_a_document() -> None:
    doc = document()
    report = sync.known_report(STAGING, DEV, version(4, doc), version(9, doc), {})
    assert report == {
        "upstream": "dev",
        "version": version(4, doc).id,
        "upstreamVersion": version(9, doc).id,
        "state": "InSync",
        "differingPaths": 0,
    }


def test_differing_content_is_counted_from_the_documents_held() -> None:
    upstream = document()
    own = {**upstream, "title": "Log in", "footer": "new"}
    held = {content_hash(upstream): upstream, content_hash(own): own}
    report = sync.known_report(STAGING, DEV, version(4, own), version(9, upstream), held)
    assert report is not None and report["state"] == "OutOfSync" and report["differingPaths"] == 2


def test_a_document_not_held_is_not_read_and_nothing_is_told() -> None:
    upstream = document()
    own = {**upstream, "title": "Log in"}
    assert sync.known_report(STAGING, DEV, version(4, own), version(9, upstream), {content_hash(own): own}) is None


def test_parts_the_environment_owns_do_not_make_it_out_of_sync() -> None:
    upstream = document()
    own = {**upstream, "links": {"login": "https://staging"}}
    held = {content_hash(upstream): upstream, content_hash(own): own}
    report = sync.known_report(OWNED, DEV, version(4, own), version(9, upstream), held)
    assert report is not None
    assert (report["state"], report["differingPaths"], report["preservedPaths"]) == ("InSync", 0, 1)


@pytest.mark.parametrize(
    ("own", "upstream", "state"),
    [(version(4, {"a": 1}), None, "UpstreamMissing"), (None, version(9, {"a": 1}), "OutOfSync")],
    ids=["the upstream has no ready version", "this flow has none"],
)
def test_a_side_without_head(own: VersionRecord | None, upstream: VersionRecord | None, state: str) -> None:
    report = sync.known_report(STAGING, DEV, own, upstream, {})
    assert report is not None and report["state"] == state and report["differingPaths"] == 0


def test_a_report_dropping_preserved_paths_removes_them_from_the_status() -> None:
    shown = {"upstream": "dev", "state": "InSync", "differingPaths": 0, "preservedPaths": 1}
    desired = {"upstream": "dev", "state": "InSync", "differingPaths": 0}
    assert sync.status_patch(desired, shown) == {**desired, "preservedPaths": None}
    assert sync.status_patch(desired, None) == desired


# -- the event of the promotion's own write -------------------------------------------------

UP_HEAD, OWN_HEAD = "20261202000000000009", "20261202000000000004"


class NoApi:
    """Any API call fails: the report is told current from memory."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API was called ({name})")


def promoted_flow() -> tuple[dict[str, Any], dict[str, Any]]:
    """The target Flow as its content write's event brings it, and as the promotion left it."""
    meta = {"name": "login", "namespace": "ns-staging", "uid": "f1", "resourceVersion": "41", "generation": 5}
    before = {"metadata": meta, "spec": {"content": {"a": 1}}, "status": {"latestReadyVersion": "20261202000000000003"}}
    report = {"upstream": "dev", "version": OWN_HEAD, "upstreamVersion": UP_HEAD, "state": "InSync", "differingPaths": 0}
    left = {"metadata": {**meta, "resourceVersion": "42"}, "status": {"latestReadyVersion": OWN_HEAD, "sync": report}}
    return before, left


def reconcile_event(upstream_head: str) -> None:
    from flowops.runtime import Runtime
    from flowops.services import flowevents
    from flowops.services.common import no_events
    from flowops.services.reconciledviews import view_of

    rt = Runtime(kube=NoApi())  # type: ignore[arg-type]
    rt.flows.prime("ns-dev", lambda: ["login"])
    rt.flows.observe("ns-dev", "login", None, head=upstream_head)
    before, left = promoted_flow()
    rt.reconciled.record(view_of(before, STAGING), left)
    envs = {"dev": DEV, "staging": STAGING}
    flowevents.reconcile(rt, before, STAGING, False, envs.get, lambda: list(envs.values()), no_events)


def test_the_event_of_a_promotions_own_write_reads_nothing_when_its_report_names_both_heads() -> None:
    reconcile_event(UP_HEAD)


def test_the_event_reports_again_when_the_upstream_has_moved_since() -> None:
    with pytest.raises(AssertionError, match="the API was called"):
        reconcile_event("20261202000000000010")


# -- which promotions can tell it -----------------------------------------------------------


def promotion_report(source_env: dict[str, Any], source_flow: str, target_flow: str) -> dict[str, Any] | None:
    from flowops.domain.promotion import PromotionState, SourceSide, TargetWrite
    from flowops.services import promotions

    promoted = document()
    source_version = version(9, promoted)
    state = PromotionState(
        {"metadata": {"name": "p", "namespace": "ns-staging"}, "spec": {"source": {"flow": source_flow}}},
        STAGING,
        source_env,
        source=SourceSide(True, (source_version,), promoted, head=source_version),
    )
    write = TargetWrite(target_flow, promoted, "RestartInProgress", {"contentHash": content_hash(promoted)}, True)
    report = promotions._sync_report(state, write, source_version.id)
    return None if report is None else report([version(4, promoted)])


def test_a_promotion_from_the_upstream_namesake_tells_the_report_without_a_read() -> None:
    report = promotion_report(DEV, "login", "login")
    assert report is not None and report["state"] == "InSync" and report["upstreamVersion"] == version(9, {}).id


@pytest.mark.parametrize(
    ("source_env", "source_flow", "target_flow"),
    [({"metadata": {"name": "qa"}, "spec": {"namespace": "ns-qa"}}, "login", "login"), (DEV, "login", "login-v2")],
    ids=["from an environment other than the upstream", "into a flow of another name"],
)
def test_other_promotions_leave_the_report_to_the_flows_event(
    source_env: dict[str, Any], source_flow: str, target_flow: str
) -> None:
    assert promotion_report(source_env, source_flow, target_flow) is None


def test_a_report_made_from_the_flow_as_read_is_not_merged_into_a_newer_one() -> None:
    from flowops.kube import FLOWS, Conflict
    from flowops.services.statuswrite import write_status

    class Moved:
        patched: list[dict[str, Any]] = []

        def replace_status(self, *_: Any) -> dict[str, Any]:
            raise Conflict(409, "Conflict", "the object has been modified")

        def json_patch(self, resource: Any, name: str, ops: list[dict[str, Any]], *_: Any, **__: Any) -> None:
            self.patched = ops

    kube = Moved()
    flow = {"metadata": {"name": "login", "namespace": "ns-staging", "uid": "u1", "resourceVersion": "41"}, "status": {}}
    changes = {"latestReadyVersion": OWN_HEAD, "sync": {"state": "InSync"}}
    assert write_status(kube, FLOWS, flow, changes, guard=(), put_only=("sync",)) is None  # type: ignore[arg-type]
    assert [op["path"] for op in kube.patched if op["op"] != "test"] == ["/status/latestReadyVersion"]
