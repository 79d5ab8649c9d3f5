"""domain.promotion.decide: one row per rule, the phase, reason and write it decides."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from flowops.domain.canonical import content_hash
from flowops.domain.commit import VersionRecord
from flowops.domain.guardrails import RuleResult, Violation
from flowops.domain.promotion import PromotionState, SourceSide, TargetSide, decide

DEV_DOC = {"title": "new"}
PROD_DOC = {"title": "old"}


def record(number: int, doc: Any, ready: bool = True, uid: str | None = None, guardrails: str = "") -> VersionRecord:
    vid = f"2026010100000000000{number}"
    return VersionRecord(name=f"standard-{vid}", id=vid, number=number, content_hash=content_hash(doc), ready=ready,
                         promotion_uid=uid, guardrails=guardrails)


def env(name: str, tier: str = "Development", upstream: str | None = None, **spec: Any) -> dict:
    body = {"namespace": f"ns-{name}", "tier": tier, **spec}
    if upstream:
        body["upstream"] = upstream
    return {"metadata": {"name": name}, "spec": body}


DEV = env("dev")
STAGING = env("staging", "Staging", upstream="dev")
PROD = env("prod", "Production", upstream="staging")


def promotion(source_env: str = "staging", version: str = "HEAD", status: dict | None = None, **spec: Any) -> dict:
    return {
        "metadata": {"name": "ship", "namespace": "ns-prod", "uid": "uid-1", "generation": 1},
        "spec": {"source": {"environment": source_env, "flow": "standard", "version": version}, **spec},
        "status": status or {},
    }


SOURCE = SourceSide(True, (record(1, PROD_DOC), record(2, DEV_DOC)), DEV_DOC)
TARGET = TargetSide(True, (record(1, PROD_DOC),), record(1, PROD_DOC), PROD_DOC)


def state(promo: dict | None = None, target_env: dict | None = PROD, source_env: dict | None = STAGING,
          source: SourceSide = SOURCE, target: TargetSide = TARGET, check=None) -> PromotionState:
    extra = {"check": check} if check else {}
    return PromotionState(promo or promotion(), target_env, source_env, ("dev", "staging", "prod"), source, target, **extra)


def broken(document: Any, digest: str) -> list[RuleResult]:
    return [RuleResult("sign-in-keeps-password", False, (Violation("/forms/signInForm", "currentPassword is required"),))]


# (id, state, phase, reason, words in the message, writes the target?)
CASES = [
    ("promote-now", state(), "Running", "Writing", "writing", True),
    ("finished-is-left-alone", state(promotion(status={"phase": "Succeeded"})), None, "Finished", "", False),
    ("no-environment", state(target_env=None), "Failed", "NoEnvironment", "belongs to no Environment", False),
    ("unknown-source-environment", state(source_env=None), "Failed", "UnknownEnvironment", "dev, prod, staging", False),
    ("unknown-flow", state(source=SourceSide()), "Failed", "UnknownFlow", "'standard' does not exist", False),
    ("unknown-version", state(promotion(version="7")), "Failed", "UnknownVersion", "no version 7", False),
    ("bad-hash", state(promotion(version="sha256:" + "0" * 64)), "Failed", "UnknownVersion", "no version with content", False),
    ("by-hash", state(promotion(version=content_hash(DEV_DOC))), "Running", "Writing", "", True),
    ("not-ready-names-the-rules", state(promotion(version="2"), source=replace(
        SOURCE, records=(record(1, PROD_DOC), record(2, DEV_DOC, ready=False, guardrails="1 of 1 guardrails failed: sign-in-keeps-password")))),
     "Failed", "VersionNotReady", "sign-in-keeps-password", False),
    ("uncommitted-from-protected", state(promotion(version="uncommitted"), source_env=PROD), "Failed", "UncommittedFromProtected",
     "protected environment prod", False),
    ("target-exists-fail", state(promotion(ifTargetExists="Fail")), "Failed", "TargetExists", "ifTargetExists is Fail", False),
    ("same-version", state(promotion(source_env="prod"), source_env=PROD, source=replace(SOURCE, records=(record(1, PROD_DOC),))),
     "Failed", "SameVersion", "same version", False),
    ("rollback", state(promotion(source_env="prod", version="1"), source_env=PROD,
                       target=TargetSide(True, SOURCE.records, record(2, DEV_DOC), DEV_DOC),
                       source=replace(SOURCE, document=PROD_DOC)), "Running", "Writing", "", True),
    ("include-matches-nothing", state(promotion(changes={"include": ["/nothing"]})), "Failed", "PointerMatchesNothing", "/title", False),
    ("guardrails-fail", state(check=broken), "Failed", "GuardrailsFailed", "sign-in-keeps-password", False),
    ("nothing-to-promote", state(source=replace(SOURCE, document=PROD_DOC)), "Succeeded", "NothingToPromote", "nothing to promote", False),
    ("review-waits", state(promotion(review=True)), "AwaitingApproval", "AwaitingApproval", "approve", False),
    ("review-already-waiting", state(promotion(review=True, status={"phase": "AwaitingApproval"})), None, "AwaitingApproval", "", False),
    ("approved-stale-source", state(promotion(review=True, approved=True, status={"phase": "AwaitingApproval", "sourceVersion": "x"})),
     "Failed", "PlanStale", "source moved", False),
    ("approved-fresh", state(promotion(review=True, approved=True, status={
        "phase": "AwaitingApproval", "sourceVersion": record(2, DEV_DOC).id, "targetBaseVersion": record(1, PROD_DOC).id,
        "plan": {"contentHash": content_hash(DEV_DOC)}})), "Running", "Writing", "", True),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_decide(case):
    _, given, phase, reason, words, writes = case
    decision = decide(given)
    assert (decision.phase, decision.reason) == (phase, reason), decision
    assert words in decision.message
    assert (decision.write is not None) == writes
    if writes:
        assert decision.status["sourceVersion"], "the source version is on record before anything is written"


def test_landed_version_is_reported_whatever_moved_since():
    landed = record(2, DEV_DOC, uid="uid-1")
    given = state(promotion(status={"phase": "Running", "sourceVersion": "s"}), source=SourceSide(),
                  target=TargetSide(True, (record(1, PROD_DOC), landed), landed, DEV_DOC))
    decision = decide(given)
    assert decision.landed == landed and decision.write is None
    assert decision.status["sourceVersion"] == "s"


def test_write_carries_provenance_and_the_result():
    decision = decide(state(promotion(comment="ship it")))
    assert decision.write is not None
    assert decision.write.document == DEV_DOC and decision.write.exists
    assert decision.write.provenance["comment"] == "ship it"
    assert decision.write.provenance["uid"] == "uid-1"
    assert decision.write.provenance["contentHash"] == content_hash(DEV_DOC)


# -- values and environment-owned parts ---------------------------------------------------------

VALUES_DOC = {"title": "new", "links": {"home": "$(values.baseUrl)", "mail": "$(values.sender)"}, "theme": "dev"}


def test_promotion_into_an_environment_lacking_values_names_every_one_and_writes_nothing():
    decision = decide(state(source=replace(SOURCE, document=VALUES_DOC), target_env=env("prod", "Production", values={"x": "1"})))
    assert (decision.phase, decision.reason, decision.write) == ("Failed", "ValuesNotDefined", None)
    assert "environment prod does not define 2 value(s)" in decision.message
    assert "baseUrl (used at /links/home)" in decision.message and "sender (used at /links/mail)" in decision.message


def test_promotion_with_every_value_defined_writes_the_references_unrendered():
    target_env = env("prod", "Production", values={"baseUrl": "https://prod", "sender": "no-reply@prod"})
    decision = decide(state(source=replace(SOURCE, document=VALUES_DOC), target_env=target_env))
    assert decision.write is not None and decision.write.document["links"]["home"] == "$(values.baseUrl)"


def test_preserved_parts_are_kept_and_shown_as_kept():
    target_doc = {"title": "old", "theme": "prod"}
    target = TargetSide(True, (record(1, target_doc),), record(1, target_doc), target_doc)
    target_env = env("prod", "Production", preservedPaths=["/theme"])
    decision = decide(state(source=replace(SOURCE, document={"title": "new", "theme": "dev"}), target=target, target_env=target_env))
    assert decision.write is not None and decision.write.document == {"title": "new", "theme": "prod"}
    plan = decision.status["plan"]
    assert [c["path"] for c in plan["changes"]] == ["/title"]
    assert plan["preserved"] == [{"path": "/theme", "preservedPath": "/theme", "value": "prod", "offered": "dev"}]


def test_a_partial_promotion_of_an_owned_part_is_refused():
    target_env = env("prod", "Production", preservedPaths=["/theme"])
    decision = decide(state(promotion(changes={"include": ["/theme"]}), target_env=target_env))
    assert (decision.phase, decision.reason) == ("Failed", "PreservedPath")
    assert "owned by environment prod" in decision.message
