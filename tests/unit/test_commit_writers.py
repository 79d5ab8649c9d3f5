"""Decisions a second writer relies on: a stale view commits nothing, a landed Promotion is done."""

from __future__ import annotations

import json

from flowops.domain.commit import VersionRecord, decide, open_quarantine, tamper_loop
from flowops.services.versions import version_name

LATEST = VersionRecord(name="f-00002", id="20261121093012000002", number=2, content_hash="sha256:b", generation=5)


def _decide(
    content_hash: str,
    generation: int | None,
    newest: int | None,
    promotion: str | None = None,
    landed: frozenset[str] = frozenset(),
):
    return decide(
        content_hash=content_hash,
        mode="Auto",
        latest=LATEST,
        change_cause=None,
        commit_annotation=None,
        promotion_annotation=promotion,
        generation=generation,
        newest_generation=newest,
        landed_promotions=landed,
    )


def test_a_view_older_than_a_committed_version_is_stale() -> None:
    decision = _decide("sha256:a", generation=4, newest=5)
    assert (decision.commit, decision.reason) == (False, "Stale")


def test_the_same_or_a_newer_generation_commits_changed_content() -> None:
    assert _decide("sha256:c", generation=5, newest=5).commit
    assert _decide("sha256:c", generation=6, newest=5).commit


def test_unknown_generations_never_block_a_commit() -> None:
    assert _decide("sha256:c", generation=None, newest=5).commit
    assert _decide("sha256:c", generation=6, newest=None).commit


def test_a_promotion_with_a_version_anywhere_in_history_is_done() -> None:
    record = json.dumps({"uid": "p-1", "contentHash": "sha256:c"})
    assert _decide("sha256:c", 6, 5, promotion=record).commit
    decision = _decide("sha256:c", 6, 5, promotion=record, landed=frozenset({"p-1"}))
    assert (decision.commit, decision.reason) == (False, "UpToDate")


def test_version_names_hold_the_number_and_sort() -> None:
    assert version_name("standard", 7) == "standard-00007"
    assert version_name("a-1", 2) != version_name("a", 12)
    assert sorted(version_name("f", n) for n in (10, 9, 100)) == [version_name("f", n) for n in (9, 10, 100)]


def _q(number: int, digest: str, reapplied: int = 0) -> VersionRecord:
    return VersionRecord(
        name=f"f-{number:05d}",
        id=f"2026112109301200000{number}",
        number=number,
        content_hash=digest,
        origin="Quarantine",
        reapplied=reapplied,
        field_manager="kustomize-controller (Update)",
    )


def test_a_protected_flow_edited_without_a_promotion_is_reverted() -> None:
    decision = decide(
        content_hash="sha256:x",
        mode="Auto",
        latest=LATEST,
        change_cause=None,
        commit_annotation=None,
        promotion_annotation=None,
        protected=True,
    )
    assert (decision.commit, decision.revert, decision.reason) == (False, True, "DirectEdit")
    promoted = json.dumps({"uid": "p-2", "contentHash": "sha256:x"})
    assert decide(
        content_hash="sha256:x",
        mode="Auto",
        latest=LATEST,
        change_cause=None,
        commit_annotation=None,
        promotion_annotation=promoted,
        protected=True,
    ).commit


def test_open_quarantine_is_the_newest_edit_since_the_newest_version() -> None:
    assert open_quarantine([LATEST]) is None
    assert open_quarantine([_q(1, "sha256:old"), LATEST]) is None, "an edit before the newest version is closed"
    assert open_quarantine([LATEST, _q(3, "sha256:a"), _q(4, "sha256:b")]).number == 4


def test_a_loop_is_an_edit_that_came_back_and_lasts_until_the_next_version() -> None:
    assert tamper_loop([LATEST, _q(3, "sha256:a")]) is None, "one edit reverted once is no loop"
    message = tamper_loop([LATEST, _q(3, "sha256:a", reapplied=2), _q(4, "sha256:b")])
    assert message and "kustomize-controller" in message and "3 times" in message and "Promotions" in message
    promoted = VersionRecord(name="f-00005", id="20261121093012000005", number=5, content_hash="sha256:c", origin="Promotion")
    assert tamper_loop([LATEST, _q(3, "sha256:a", reapplied=2), promoted]) is None
