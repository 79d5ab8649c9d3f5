import pytest

from flowops.domain.retention import VersionMeta, versions_to_delete


def vid(n: int) -> str:
    return f"202611210930120000{n:02d}"


def history(n: int, keyframes_every: int | None = None) -> list[VersionMeta]:
    """n versions; with keyframes_every=k, versions 1, 1+k, ... are Full and the rest Deltas on them."""
    out = []
    for number in range(1, n + 1):
        base = None
        if keyframes_every:
            kf = 1 + ((number - 1) // keyframes_every) * keyframes_every
            base = None if kf == number else vid(kf)
        out.append(VersionMeta(vid(number), number, base))
    return out


def test_keeps_the_newest_history_limit_and_deletes_oldest_first():
    assert versions_to_delete(history(10), 3, keep=()) == [vid(n) for n in range(1, 8)]


def test_nothing_to_delete_within_the_limit():
    assert versions_to_delete(history(3), 5, keep=()) == []
    assert versions_to_delete([], 5, keep=()) == []


def test_input_order_does_not_matter():
    assert versions_to_delete(list(reversed(history(6))), 2, keep=()) == [vid(n) for n in range(1, 5)]


def test_head_pinned_and_promotion_versions_are_spared():
    keep = {vid(2), vid(4), vid(5)}  # e.g. HEAD (a later edit failed guardrails), a pin, a running Promotion
    assert versions_to_delete(history(8), 2, keep=keep) == [vid(1), vid(3), vid(6)]


def test_keep_may_name_versions_that_do_not_exist():
    assert versions_to_delete(history(4), 1, keep={"20000101000000000000"}) == [vid(1), vid(2), vid(3)]


def test_keyframes_of_kept_deltas_are_spared():
    versions = history(10, keyframes_every=4)  # Full: 1, 5, 9
    # Newest 2 are 9 (Full) and 10 (Delta on 9); pinned 7 is a Delta on 5, so 5 stays too.
    assert versions_to_delete(versions, 2, keep={vid(7)}) == [vid(n) for n in (1, 2, 3, 4, 6, 8)]
    # Newest 3 are 8 (Delta on 5), 9, 10.
    assert versions_to_delete(versions, 3, keep=()) == [vid(n) for n in (1, 2, 3, 4, 6, 7)]


def test_the_newest_version_is_never_deleted():
    versions = history(5, keyframes_every=3)  # 5 is a Delta on 4
    deleted = versions_to_delete(versions, 1, keep=())
    assert vid(5) not in deleted and vid(4) not in deleted
    assert deleted == [vid(1), vid(2), vid(3)]


def test_missing_keyframe_does_not_break_selection():
    versions = [VersionMeta(vid(3), 3, vid(1)), VersionMeta(vid(4), 4, vid(1))]
    assert versions_to_delete(versions, 1, keep=()) == [vid(3)]


def test_invalid_limit_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        versions_to_delete(history(3), 0, keep=())


# --- finished Promotions -------------------------------------------------------------------

from flowops.domain.retention import FinishedPromotion, promotions_to_delete  # noqa: E402


@pytest.mark.parametrize(
    "finished,limit,doomed",
    [
        ([], 1, []),
        ([FinishedPromotion("a", "2026-01-01T00:00:00Z")], 1, []),
        (
            [
                FinishedPromotion("b", "2026-01-02T00:00:00Z"),
                FinishedPromotion("a", "2026-01-01T00:00:00Z"),
                FinishedPromotion("c", "2026-01-03T00:00:00Z"),
            ],
            1,
            ["a", "b"],
        ),
        # Tracked by Flux or Argo CD: never deleted, and not counted.
        (
            [
                FinishedPromotion("git", "2026-01-01T00:00:00Z", tracked=True),
                FinishedPromotion("a", "2026-01-02T00:00:00Z"),
                FinishedPromotion("b", "2026-01-03T00:00:00Z"),
            ],
            1,
            ["a"],
        ),
        # Same completion second: by name, so every replica decides the same.
        ([FinishedPromotion("y", "2026-01-01T00:00:00Z"), FinishedPromotion("x", "2026-01-01T00:00:00Z")], 1, ["x"]),
    ],
)
def test_promotions_to_delete(finished, limit, doomed):
    assert promotions_to_delete(finished, limit) == doomed


def test_promotion_history_limit_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        promotions_to_delete([], 0)
