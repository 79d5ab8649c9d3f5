"""domain.commit.decide: one row per case, the decision a Flow's content leads to."""

import json

import pytest

from flowops.domain import commit
from flowops.domain.commit import VersionRecord

H1, H2 = "sha256:1", "sha256:2"


def v(content_hash=H1, commit_request=None, promotion_uid=None, origin="Commit", number=1):
    return VersionRecord(
        name=f"f-{number}",
        id=f"2026112100000000000{number}",
        number=number,
        content_hash=content_hash,
        ready=True,
        origin=origin,
        commit_request=commit_request,
        promotion_uid=promotion_uid,
    )


def promo(uid="u1", content_hash=H2, comment="to staging"):
    return json.dumps({"uid": uid, "contentHash": content_hash, "comment": comment})


# content hash, mode, latest, change-cause, commit annotation, promotion annotation -> commit?, origin, message, reason, uncommitted
CASES = [
    ("same content", H1, "Auto", v(), None, None, None, (False, "Commit", "", "UpToDate", False)),
    ("new flow", H1, "Auto", None, "first cut", None, None, (True, "Commit", "first cut", "ContentChanged", False)),
    ("auto edit", H2, "Auto", v(), " second ", None, None, (True, "Commit", "second", "ContentChanged", False)),
    ("auto edit, no cause", H2, "Auto", v(), None, None, None, (True, "Commit", "", "ContentChanged", False)),
    ("new manual flow gets v1", H1, "Manual", None, None, None, None, (True, "Commit", "", "ContentChanged", False)),
    ("manual edit, no request", H2, "Manual", v(), None, None, None, (False, "Commit", "", "Uncommitted", True)),
    ("manual edit, blank request", H2, "Manual", v(), None, "  ", None, (False, "Commit", "", "Uncommitted", True)),
    (
        "manual edit, new request",
        H2,
        "Manual",
        v(commit_request="add v1"),
        None,
        "add v2",
        None,
        (True, "Commit", "add v2", "CommitRequested", False),
    ),
    (
        "manual edit, request already used",
        H2,
        "Manual",
        v(commit_request="add v2"),
        None,
        "add v2",
        None,
        (False, "Commit", "", "Uncommitted", True),
    ),
    ("promotion landed", H2, "Manual", v(), None, None, promo(), (True, "Promotion", "to staging", "Promoted", False)),
    (
        "promotion already recorded",
        H2,
        "Auto",
        v(promotion_uid="u1"),
        None,
        None,
        promo(),
        (False, "Commit", "", "UpToDate", False),
    ),
    (
        "promotion record for other content",
        H2,
        "Auto",
        v(),
        "c",
        None,
        promo(content_hash="sha256:9"),
        (True, "Commit", "c", "ContentChanged", False),
    ),
    ("promotion record unreadable", H2, "Auto", v(), "c", None, "{not json", (True, "Commit", "c", "ContentChanged", False)),
    (
        "promotion record without uid",
        H2,
        "Auto",
        v(),
        "c",
        None,
        json.dumps({"contentHash": H2}),
        (True, "Commit", "c", "ContentChanged", False),
    ),
]


@pytest.mark.parametrize(
    "name, digest, mode, latest, cause, commit_request, promotion, expected", CASES, ids=[c[0] for c in CASES]
)
def test_decide(name, digest, mode, latest, cause, commit_request, promotion, expected):
    d = commit.decide(
        content_hash=digest,
        mode=mode,
        latest=latest,
        change_cause=cause,
        commit_annotation=commit_request,
        promotion_annotation=promotion,
    )
    assert (d.commit, d.origin, d.message, d.reason, d.uncommitted) == expected
    assert (d.commit_request is not None) == (d.reason == "CommitRequested")


def test_latest_ignores_quarantined_copies():
    versions = [v(number=1), v(H2, origin="Quarantine", number=2)]
    assert commit.latest_of(versions).number == 1
    assert commit.latest_of([]) is None


def test_a_restore_the_api_server_altered_names_the_mutation_and_keeps_head():
    head = VersionRecord(name="standard-00001", id="20261121093012000001", number=1, content_hash="sha256:a")
    assert commit.altered_restore(head, "sha256:a") is None
    why = commit.altered_restore(head, "sha256:b")
    assert why is not None
    for words in ("restoring version 1", "sha256:b, not sha256:a", "flows.flowops.io", "HEAD stays version 1"):
        assert words in why
