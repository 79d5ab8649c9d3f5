"""domain.promotion.compute (the plan) and stale_reason (an approved plan that no longer
describes what would be written), one row per case."""

import pytest

from flowops.domain import promotion
from flowops.domain.canonical import canonical_json, content_hash
from flowops.domain.promotion import PromotionRejected

BASE = {"title": "v1", "forms": {"signIn": {"fields": ["email", "password"]}}, "locale": "en"}
SOURCE = {"title": "v2", "forms": {"signIn": {"fields": ["email", "password", "otp"]}}, "locale": "en"}


@pytest.mark.parametrize(
    "name, base, include, exclude, result",
    [
        ("everything into a new flow", None, (), (), SOURCE),
        ("everything into an existing flow", BASE, (), (), SOURCE),
        ("only one part", BASE, ("/title",), (), {**BASE, "title": "v2"}),
        ("all but one part", BASE, (), ("/title",), {**SOURCE, "title": "v1"}),
        ("nothing differs", SOURCE, (), (), SOURCE),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_compute(name, base, include, exclude, result):
    plan = promotion.compute(base, SOURCE, include, exclude)
    assert plan.result == result
    assert plan.result_hash == content_hash(result)
    assert plan.base_hash == (content_hash(base) if base is not None else None)
    assert plan.empty is (base is not None and content_hash(base) == content_hash(result))
    assert plan.to_status()["contentHash"] == plan.result_hash


def test_a_pointer_matching_nothing_is_refused_by_name():
    with pytest.raises(PromotionRejected) as refused:
        promotion.compute(BASE, SOURCE, include=("/nowhere",))
    assert refused.value.reason == "PointerMatchesNothing"


PLANNED = {"sourceVersion": "s1", "targetBaseVersion": "t1", "plan": {"contentHash": "sha256:r"}}


@pytest.mark.parametrize(
    "planned, source, head, result, stale",
    [
        (PLANNED, "s1", "t1", "sha256:r", None),
        (PLANNED, "s2", "t1", "sha256:r", "the source moved since the plan was made (planned s1, now s2)"),
        (PLANNED, "s1", "t2", "sha256:r", "the target changed since the plan was made (planned against t1, now t2)"),
        (PLANNED, "s1", None, "sha256:r", "the target changed since the plan was made (planned against t1, now no flow)"),
        ({**PLANNED, "targetBaseVersion": ""}, "s1", None, "sha256:r", None),  # planned against no flow, still none
        ({**PLANNED, "targetBaseVersion": None}, "s1", "t9", "sha256:r", "planned against no flow, now t9"),
        (PLANNED, "s1", "t1", "sha256:x", "the promoted content changed since the plan was made"),
        ({}, "s1", None, "sha256:x", None),  # nothing planned: nothing to be stale against
    ],
)
def test_stale_reason(planned, source, head, result, stale):
    reason = promotion.stale_reason(planned, source, head, result)
    if stale is None:
        assert reason is None
    else:
        assert stale in reason and "nothing was written" in reason


def test_recorded_hashes_are_used_only_where_they_describe_the_result():
    base_hash, source_hash = content_hash(BASE), content_hash(SOURCE)
    whole = promotion.compute(
        BASE, SOURCE, base_hash=base_hash, source_hash=source_hash, source_bytes=len(canonical_json(SOURCE))
    )
    assert whole == promotion.compute(BASE, SOURCE)
    # A partial promotion makes a document of its own: the source's hash does not describe it.
    part = promotion.compute(BASE, SOURCE, ("/title",), base_hash=base_hash, source_hash=source_hash)
    assert part.result_hash == content_hash({**BASE, "title": "v2"}) != source_hash
    # And a recorded hash is trusted as given (it is the version's own record).
    assert promotion.compute(BASE, SOURCE, base_hash="sha256:recorded").base_hash == "sha256:recorded"


def test_the_results_size_is_the_sources_record_or_measured():
    recorded = promotion.compute(BASE, SOURCE, source_hash=content_hash(SOURCE), source_bytes=12345)
    assert recorded.result_bytes == 12345, "the source's version records its size"
    assert promotion.compute(BASE, SOURCE).result_bytes == len(canonical_json(SOURCE))
    part = promotion.compute(BASE, SOURCE, ("/title",), source_hash=content_hash(SOURCE), source_bytes=12345)
    assert part.result_bytes == len(canonical_json({**BASE, "title": "v2"})), "a partial result is a document of its own"
