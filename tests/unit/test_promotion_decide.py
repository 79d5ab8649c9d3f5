"""domain.promotion.decide: one row per rule, allowed and refused, with the phase, reason,
message words and whether it writes the target."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from flowops.domain import separation
from flowops.domain.canonical import content_hash
from flowops.domain.commit import VersionRecord
from flowops.domain.guardrails import RuleResult, Violation
from flowops.domain.promotion import PromotionState, SourceSide, TargetSide, altered_on_write, decide, impact, spec_hash

DEV_DOC = {"title": "new"}
PROD_DOC = {"title": "old"}
ALICE = {"username": "alice", "groups": ["promoters"]}
BOB = {"username": "bob", "groups": ["approvers"], "via": "Cluster"}
FLUX = "system:serviceaccount:flux-system:flowops-applier"
CONTROLLER = "system:serviceaccount:flux-system:kustomize-controller"


def record(number: int, doc: Any, ready: bool = True, guardrails: str = "", **extra: Any) -> VersionRecord:
    vid = f"2026010100000000000{number}"
    return VersionRecord(
        name=f"standard-{vid}", id=vid, number=number, content_hash=content_hash(doc), ready=ready, guardrails=guardrails, **extra
    )


def env(name: str, tier: str = "Development", upstream: str | None = None, promotion: dict | None = None, **spec: Any) -> dict:
    body: dict[str, Any] = {"namespace": f"ns-{name}", "tier": tier, **spec}
    if upstream:
        body["upstream"] = upstream
    if promotion is not None:
        body["policy"] = {"promotion": promotion}
    return {"metadata": {"name": name}, "spec": body}


DEV = env("dev")
STAGING = env("staging", "Staging", upstream="dev")
PROD = env("prod", "Production", upstream="staging")  # the defaults: protected, review, pinned source
# Production with promote-now allowed: the rows about the mechanics, not the governance.
OPEN = env("prod", "Production", upstream="staging", promotion={"requireReview": False, "allowHeadSource": True})
V1, V2 = record(1, PROD_DOC), record(2, DEV_DOC)


def promotion(source_env: str = "staging", version: str = "HEAD", status: dict | None = None, **spec: Any) -> dict:
    return {
        "metadata": {"name": "ship", "namespace": "ns-prod", "uid": "uid-1", "generation": 1},
        "spec": {"source": {"environment": source_env, "flow": "standard", "version": version}, "requestedBy": ALICE, **spec},
        "status": status or {},
    }


SOURCE = SourceSide(True, (V1, V2), DEV_DOC)
TARGET = TargetSide(True, (V1,), V1, PROD_DOC)
PLANNED = {
    "phase": "AwaitingApproval",
    "sourceVersion": V2.id,
    "targetBaseVersion": V1.id,
    "plan": {"contentHash": content_hash(DEV_DOC)},
}


def approved(approver: dict | None = BOB, status: dict = PLANNED, **spec: Any) -> dict:
    extra = {"approvedBy": approver} if approver else {}
    return promotion(version="2", review=True, approved=True, status=status, **extra, **spec)


def state(
    promo: dict | None = None,
    target_env: dict | None = OPEN,
    source_env: dict | None = STAGING,
    source: SourceSide = SOURCE,
    target: TargetSide = TARGET,
    **extra: Any,
) -> PromotionState:
    return PromotionState(promo or promotion(), target_env, source_env, ("dev", "staging", "prod"), source, target, **extra)


def broken(document: Any, digest: str) -> list[RuleResult]:
    return [RuleResult("sign-in-keeps-password", False, (Violation("/forms/signInForm", "currentPassword is required"),))]


FROZEN = env(
    "prod",
    "Production",
    upstream="staging",
    promotion={"requireReview": False, "allowHeadSource": True},
    freeze={"reason": "holiday"},
)
ROLLBACK_TARGET = TargetSide(True, (V1, V2), V2, DEV_DOC)
ROLLBACK = dict(source_env=OPEN, target=ROLLBACK_TARGET, source=replace(SOURCE, document=PROD_DOC))

# (id, state, phase, reason, words in the message, writes the target?)
CASES = [
    # mechanics
    ("promote-now", state(), "Running", "Writing", "writing", True),
    ("finished-is-left-alone", state(promotion(status={"phase": "Succeeded"})), None, "Finished", "", False),
    ("no-environment", state(target_env=None), "Failed", "NoEnvironment", "belongs to no Environment", False),
    ("unknown-source-environment", state(source_env=None), "Failed", "UnknownEnvironment", "dev, prod, staging", False),
    ("unknown-flow", state(source=SourceSide()), "Failed", "UnknownFlow", "'standard' does not exist", False),
    ("unknown-version", state(promotion(version="7")), "Failed", "UnknownVersion", "no version 7", False),
    (
        "unknown-hash",
        state(promotion(version="sha256:" + "0" * 64)),
        "Failed",
        "UnknownVersion",
        "no version with content",
        False,
    ),
    ("by-hash", state(promotion(version=content_hash(DEV_DOC))), "Running", "Writing", "", True),
    (
        "not-ready-names-the-rules",
        state(
            promotion(version="2"),
            source=replace(
                SOURCE,
                records=(V1, record(2, DEV_DOC, ready=False, guardrails="1 of 1 guardrails failed: sign-in-keeps-password")),
            ),
        ),
        "Failed",
        "VersionNotReady",
        "sign-in-keeps-password",
        False,
    ),
    ("target-exists-fail", state(promotion(ifTargetExists="Fail")), "Failed", "TargetExists", "ifTargetExists is Fail", False),
    (
        "same-version",
        state(promotion(source_env="prod"), source_env=OPEN, source=replace(SOURCE, records=(V1,))),
        "Failed",
        "SameVersion",
        "same version",
        False,
    ),
    ("rollback", state(promotion(source_env="prod", version="1"), **ROLLBACK), "Running", "Writing", "", True),
    (
        "include-matches-nothing",
        state(promotion(changes={"include": ["/nothing"]})),
        "Failed",
        "PointerMatchesNothing",
        "/title",
        False,
    ),
    ("guardrails-fail", state(check=broken), "Failed", "GuardrailsFailed", "sign-in-keeps-password", False),
    (
        "nothing-to-promote",
        state(source=replace(SOURCE, records=(V1, record(2, PROD_DOC)), document=PROD_DOC)),
        "Succeeded",
        "NothingToPromote",
        "nothing to promote",
        False,
    ),
    (
        "review-waits-naming-requester",
        state(promotion(review=True)),
        "AwaitingApproval",
        "AwaitingApproval",
        "requested by alice",
        False,
    ),
    (
        "review-already-waiting",
        state(promotion(review=True, status={"phase": "AwaitingApproval"})),
        None,
        "AwaitingApproval",
        "",
        False,
    ),
    (
        "approved-stale-source",
        state(approved(status={**PLANNED, "sourceVersion": "x"})),
        "Failed",
        "PlanStale",
        "source moved",
        False,
    ),
    ("approved-fresh", state(approved()), "Running", "Writing", "", True),
    # allowed sources
    (
        "skip-a-stage",
        state(promotion(source_env="dev"), source_env=DEV),
        "Failed",
        "SourceNotAllowed",
        "accepts promotions only from staging, prod, not from dev",
        False,
    ),
    (
        "listed-source",
        state(
            promotion(source_env="dev"),
            source_env=DEV,
            target_env=env(
                "prod", "Production", promotion={"allowedSources": ["dev"], "requireReview": False, "allowHeadSource": True}
            ),
        ),
        "Running",
        "Writing",
        "",
        True,
    ),
    (
        "source-not-readable",
        state(requester_may_read=False),
        "Failed",
        "SourceNotReadable",
        "alice may not read flows in environment staging",
        False,
    ),
    ("source-readable", state(requester_may_read=True), "Running", "Writing", "", True),
    # review and approval (production defaults)
    (
        "unreviewed-into-review-required",
        state(promotion(version="2"), target_env=PROD),
        "Failed",
        "ReviewRequired",
        "spec.review: true",
        False,
    ),
    (
        "approval-unsigned",
        state(approved(None), target_env=PROD),
        "Failed",
        "ApprovalUnsigned",
        "spec.approvedBy is missing",
        False,
    ),
    (
        "self-approval",
        state(approved({"username": "alice", "groups": []}), target_env=PROD),
        "Failed",
        "SelfApproval",
        "alice requested this Promotion and cannot approve it",
        False,
    ),
    ("second-person-approves", state(approved(), target_env=PROD), "Running", "Writing", "", True),
    # Requested as a ServiceAccount the approver can act as: one person, two names.
    (
        "approval-by-one-who-acts-as-the-requesting-service-account",
        state(
            approved(requestedBy={"username": "system:serviceaccount:prod:sock"}),
            target_env=PROD,
            same_person=next(
                q
                for q in separation.questions("system:serviceaccount:prod:sock", "bob")
                if q.words() == "create pods/attach in namespace prod"
            ),
        ),
        "Failed",
        "SelfApproval",
        "bob can act as ServiceAccount system:serviceaccount:prod:sock, which requested this Promotion "
        "(bob may create pods/attach in namespace prod: attach to a pod running as it, where its token is mounted); "
        "separation of duties in environment prod: the approval does not count. Remove that right from bob",
        False,
    ),
    # A person's request: the approver may impersonate them, or they the approver.
    (
        "approval-by-one-who-may-impersonate-the-requester",
        state(approved(), target_env=PROD, same_person=separation.questions("alice", "bob")[0]),
        "Failed",
        "SelfApproval",
        "bob can act as alice, who requested this Promotion (bob may impersonate users/alice: impersonate them)",
        False,
    ),
    (
        "approval-by-one-the-requester-may-impersonate",
        state(approved(), target_env=PROD, same_person=separation.questions("alice", "bob")[3]),
        "Failed",
        "SelfApproval",
        "alice, who requested this Promotion, can act as bob, who approved it (alice may impersonate:user-info users/bob: "
        "impersonate them), so the approval may be the requester's own; separation of duties in environment prod",
        False,
    ),
    (
        "approval-of-a-service-accounts-request-by-one-who-cannot-act-as-it",
        state(
            approved(requestedBy={"username": "system:serviceaccount:ci:release-bot"}),
            target_env=PROD,
            same_person=None,
        ),
        "Running",
        "Writing",
        "",
        True,
    ),
    (
        "approver-without-the-approve-permission",
        state(approved(), target_env=PROD, approver_may_approve=False),
        "Failed",
        "ApproverNotAllowed",
        "bob may not approve Promotions in environment prod",
        False,
    ),
    (
        "approver-with-the-approve-permission",
        state(approved(), target_env=PROD, approver_may_approve=True),
        "Running",
        "Writing",
        "",
        True,
    ),
    (
        "self-approval-where-duties-not-separated",
        state(
            approved({"username": "alice"}),
            target_env=env("prod", "Production", upstream="staging", promotion={"separationOfDuties": False}),
        ),
        "Running",
        "Writing",
        "",
        True,
    ),
    (
        "approver-outside-groups",
        state(
            approved(),
            target_env=env("prod", "Production", upstream="staging", promotion={"approverGroups": ["release-managers"]}),
        ),
        "Failed",
        "ApproverNotInGroup",
        "release-managers",
        False,
    ),
    (
        "approver-in-group",
        state(
            approved({**BOB, "groups": ["release-managers"]}),
            target_env=env("prod", "Production", upstream="staging", promotion={"approverGroups": ["release-managers"]}),
        ),
        "Running",
        "Writing",
        "",
        True,
    ),
    (
        "gitops-approval",
        state(
            approved({"username": FLUX, "via": "GitOps"}, requestedBy={"username": FLUX}),
            target_env=env("prod", "Production", upstream="staging", promotion={"gitopsApprovers": [FLUX]}),
        ),
        "Running",
        "Writing",
        "",
        True,
    ),
    (
        "gitops-approval-from-unlisted",
        state(approved({"username": "system:serviceaccount:tenant-b:applier", "via": "GitOps"}), target_env=PROD),
        "Failed",
        "ApproverNotAllowed",
        "is not in spec.policy.promotion.gitopsApprovers",
        False,
    ),
    # Listed before admission refused such entries: they still count for nothing.
    (
        "gitops-approval-by-a-listed-controller-identity",
        state(
            approved({"username": CONTROLLER, "via": "GitOps"}, requestedBy={"username": CONTROLLER}),
            target_env=env("prod", "Production", upstream="staging", promotion={"gitopsApprovers": [CONTROLLER]}),
        ),
        "Failed",
        "ApproverNotAllowed",
        "is a GitOps controller's own identity",
        False,
    ),
    (
        "gitops-approval-by-a-listed-person",
        state(
            approved({"username": "mallory", "via": "GitOps"}, requestedBy={"username": "mallory"}),
            target_env=env("prod", "Production", upstream="staging", promotion={"gitopsApprovers": ["mallory"]}),
        ),
        "Failed",
        "ApproverNotAllowed",
        "'mallory' is not a ServiceAccount",
        False,
    ),
    (
        "gitops-approval-of-a-promotion-made-in-the-cluster",
        state(
            approved({"username": FLUX, "via": "GitOps"}),
            target_env=env("prod", "Production", upstream="staging", promotion={"gitopsApprovers": [FLUX]}),
        ),
        "Failed",
        "ApproverNotAllowed",
        "a Promotion alice created in the cluster",
        False,
    ),
    # Holding the approve permission too, its approval in the cluster is still not a person's.
    (
        "cluster-approval-by-a-gitops-approver-of-a-promotion-made-in-the-cluster",
        state(
            approved({"username": FLUX, "via": "Cluster"}),
            target_env=env("prod", "Production", upstream="staging", promotion={"gitopsApprovers": [FLUX]}),
            approver_may_approve=True,
        ),
        "Failed",
        "ApproverNotAllowed",
        "approves only Promotions it applied from git",
        False,
    ),
    # pinned source, committed source
    ("head-into-protected", state(promotion(review=True), target_env=PROD), "Failed", "HeadSourceNotAllowed", "not HEAD", False),
    (
        "pinned-into-protected",
        state(promotion(version="2", review=True), target_env=PROD),
        "AwaitingApproval",
        "AwaitingApproval",
        "",
        False,
    ),
    (
        "uncommitted-from-protected",
        state(promotion(version="uncommitted"), source_env=OPEN),
        "Failed",
        "UncommittedFromProtected",
        "protected environment prod",
        False,
    ),
    (
        "uncommitted-into-staging",
        state(
            promotion(source_env="dev", version="uncommitted"),
            source_env=DEV,
            target_env=env(
                "staging",
                "Staging",
                upstream="dev",
                promotion={"allowUncommittedSource": True, "requireReview": False, "allowHeadSource": True},
            ),
        ),
        "Failed",
        "UncommittedNotAllowed",
        "committed versions only",
        False,
    ),
    (
        "uncommitted-into-development-opted-in",
        state(
            promotion(source_env="dev", version="uncommitted"),
            source_env=DEV,
            target_env=env("dev2", promotion={"allowedSources": ["dev"], "allowUncommittedSource": True}),
        ),
        "Running",
        "Writing",
        "",
        True,
    ),
    # freeze
    ("frozen", state(target_env=FROZEN), "Failed", "Frozen", "frozen: holiday; only rollbacks are allowed", False),
    (
        "frozen-rollback",
        state(promotion(source_env="prod", version="1"), **{**ROLLBACK, "source_env": FROZEN}, target_env=FROZEN),
        "Running",
        "Writing",
        "",
        True,
    ),
    (
        "frozen-no-rollback",
        state(
            promotion(source_env="prod", version="1"),
            **{**ROLLBACK, "source_env": FROZEN},
            target_env=env(
                "prod",
                "Production",
                upstream="staging",
                promotion={"requireReview": False},
                freeze={"reason": "incident", "allowRollback": False},
            ),
        ),
        "Failed",
        "Frozen",
        "rollbacks too",
        False,
    ),
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


def test_every_failure_says_a_new_promotion_carries_the_fix():
    """A failed Promotion is final and its spec fixed: a message that named only the field
    (set spec.ifTargetExists to Replace) would send the user to edit what cannot change."""
    failed = [(case[0], decide(case[1])) for case in CASES if case[2] == "Failed"]
    assert len(failed) > 10
    for name, decision in failed:
        assert "new Promotion" in decision.message or "create the Promotion" in decision.message, (name, decision.message)


def test_landed_version_is_reported_whatever_moved_since():
    landed = record(2, DEV_DOC, promotion_uid="uid-1")
    given = state(
        promotion(status={"phase": "Running", "sourceVersion": "s"}),
        source=SourceSide(),
        target=TargetSide(True, (V1, landed), landed, DEV_DOC),
    )
    decision = decide(given)
    assert decision.landed == landed and decision.write is None
    assert decision.status["sourceVersion"] == "s"


def test_recreated_promotion_with_same_name_and_spec_reports_the_landed_version_and_writes_nothing():
    promo = promotion(version="2")
    landed = record(2, DEV_DOC, promotion_uid="uid-0", promotion_name="ship", promotion_spec_hash=spec_hash(promo["spec"]))
    decision = decide(state(promo, target=TargetSide(True, (V1, landed), landed, DEV_DOC)))
    assert (decision.phase, decision.reason, decision.landed, decision.write) == ("Succeeded", "AlreadyPromoted", landed, None)
    other = promotion(version="1")  # same name, other spec: a new request
    assert decide(state(other, target=TargetSide(True, (V1, landed), landed, DEV_DOC))).reason != "AlreadyPromoted"


def test_write_carries_identity_comment_name_spec_hash_and_plan_into_provenance():
    promo = approved(comment="ship it")
    decision = decide(state(promo, target_env=PROD))
    assert decision.write is not None
    provenance = decision.write.provenance
    assert decision.write.document == DEV_DOC and decision.write.exists
    assert provenance["requestedBy"] == ALICE and provenance["approvedBy"] == BOB
    assert provenance["comment"] == "ship it" and provenance["name"] == "ship" and provenance["uid"] == "uid-1"
    assert provenance["specHash"] == spec_hash(promo["spec"])
    assert provenance["contentHash"] == content_hash(DEV_DOC)
    assert provenance["plan"] == {"total": 1, "paths": ["/title"]}


def test_spec_hash_ignores_approval_and_comment_but_not_the_source():
    base = promotion(version="2")["spec"]
    assert spec_hash(base) == spec_hash({**base, "approved": True, "comment": "x", "requestedBy": BOB})
    assert spec_hash(base) != spec_hash({**base, "source": {**base["source"], "version": "1"}})


def client(name: str, flow: str | None = None, version: str | None = None, application: str | None = None) -> dict:
    spec: dict[str, Any] = {}
    if flow or version:
        spec["defaultFlow"] = {k: v for k, v in (("name", flow), ("version", version)) if v}
    if application:
        spec["application"] = application
    return {"metadata": {"name": name}, "spec": spec}


def test_impact_lists_head_followers_and_pinned_users_of_the_flow():
    apps = [
        {"metadata": {"name": "web"}, "spec": {"defaultFlow": {"name": "standard"}}},
        {"metadata": {"name": "pinned-app"}, "spec": {"defaultFlow": {"name": "standard", "version": "3"}}},
        {"metadata": {"name": "other"}, "spec": {"defaultFlow": {"name": "other"}}},
    ]
    clients = [
        client("web-frontend", application="web"),
        client("canary", version="4", application="web"),
        client("mobile", "standard", "HEAD"),
        client("unrelated", "other"),
    ]
    assert impact("standard", clients, apps) == {
        "followingHead": [
            {"kind": "Application", "name": "web"},
            {"kind": "ApiClient", "name": "mobile"},
            {"kind": "ApiClient", "name": "web-frontend"},
        ],
        "pinned": [
            {"kind": "Application", "name": "pinned-app", "version": "3"},
            {"kind": "ApiClient", "name": "canary", "version": "4"},
        ],
    }


def test_review_plan_shows_the_impact():
    web = client("web-frontend", "standard")
    decision = decide(state(promotion(version="2", review=True), target_env=PROD, clients=(web,)))
    assert decision.status["plan"]["impact"]["followingHead"] == [{"kind": "ApiClient", "name": "web-frontend"}]
    assert "1 following HEAD switch at once" in decision.message


# -- values and environment-owned parts ---------------------------------------------------------

NOW = {"requireReview": False, "allowHeadSource": True}  # promote-now: these rows are about values

VALUES_DOC = {"title": "new", "links": {"home": "$(values.baseUrl)", "mail": "$(values.sender)"}, "theme": "dev"}


def test_promotion_into_an_environment_lacking_values_names_every_one_and_writes_nothing():
    decision = decide(
        state(
            source=replace(SOURCE, document=VALUES_DOC),
            target_env=env("prod", "Production", upstream="staging", promotion=NOW, values={"x": "1"}),
        )
    )
    assert (decision.phase, decision.reason, decision.write) == ("Failed", "ValuesNotDefined", None)
    assert "environment prod does not define 2 value(s)" in decision.message
    assert "baseUrl (used at /links/home)" in decision.message and "sender (used at /links/mail)" in decision.message


def test_promotion_with_every_value_defined_writes_the_references_unrendered():
    target_env = env(
        "prod", "Production", upstream="staging", promotion=NOW, values={"baseUrl": "https://prod", "sender": "no-reply@prod"}
    )
    decision = decide(state(source=replace(SOURCE, document=VALUES_DOC), target_env=target_env))
    assert decision.write is not None and decision.write.document["links"]["home"] == "$(values.baseUrl)"


def test_preserved_parts_are_kept_and_shown_as_kept():
    target_doc = {"title": "old", "theme": "prod"}
    target = TargetSide(True, (record(1, target_doc),), record(1, target_doc), target_doc)
    target_env = env("prod", "Production", upstream="staging", promotion=NOW, preservedPaths=["/theme"])
    decision = decide(
        state(source=replace(SOURCE, document={"title": "new", "theme": "dev"}), target=target, target_env=target_env)
    )
    assert decision.write is not None and decision.write.document == {"title": "new", "theme": "prod"}
    plan = decision.status["plan"]
    assert [c["path"] for c in plan["changes"]] == ["/title"]
    assert plan["preserved"] == [{"path": "/theme", "preservedPath": "/theme", "value": "prod", "offered": "dev"}]


def test_a_partial_promotion_of_an_owned_part_is_refused():
    target_env = env("prod", "Production", upstream="staging", promotion=NOW, preservedPaths=["/theme"])
    decision = decide(state(promotion(changes={"include": ["/theme"]}), target_env=target_env))
    assert (decision.phase, decision.reason) == ("Failed", "PreservedPath")
    assert "owned by environment prod" in decision.message


def test_the_reviewed_impact_stays_in_the_plan_after_approval():
    reviewed = {"followingHead": [{"kind": "ApiClient", "name": "web"}], "pinned": []}
    decision = decide(state(approved(status={**PLANNED, "plan": {**PLANNED["plan"], "impact": reviewed}}), target_env=PROD))
    assert decision.write is not None and decision.status["plan"]["impact"] == reviewed


def test_a_resumed_attempt_writes_the_claimed_source_version_not_the_head_that_moved_since():
    # An earlier attempt claimed version 2 (HEAD then) and was interrupted; HEAD is 3 now.
    moved = {**DEV_DOC, "title": "edited after the claim"}
    v3 = record(3, moved)
    claimed = promotion(status={"phase": "Running", "sourceVersion": V2.id, "targetBaseVersion": V1.id})
    # The service reads the claimed version's document (source_selector), as every attempt does.
    decision = decide(state(claimed, source=SourceSide(True, (V1, V2, v3), DEV_DOC)))
    assert decision.write is not None and decision.write.document == DEV_DOC
    assert decision.status["sourceVersion"] == V2.id and decision.status["sourceNumber"] == 2
    # The content hash that makes the commit count as this Promotion's is the written document's.
    assert decision.write.provenance["contentHash"] == content_hash(DEV_DOC) == decision.status["plan"]["contentHash"]
    # A Promotion not yet claimed follows its selector: HEAD, version 3.
    fresh = decide(state(promotion(), source=SourceSide(True, (V1, V2, v3), moved)))
    assert fresh.status["sourceVersion"] == v3.id and fresh.write is not None and fresh.write.document == moved


def test_content_the_api_server_altered_is_refused_with_its_fate_named():
    write = decide(state(promotion(version="2"))).write
    assert write is not None
    stamped = content_hash({**DEV_DOC, "stampedByPlatform": "yes"})
    assert altered_on_write(write, "prod", write.provenance["contentHash"], True, None) is None

    recorded = record(3, {**DEV_DOC, "stampedByPlatform": "yes"})
    unprotected = altered_on_write(write, "staging", stamped, False, recorded)
    assert unprotected is not None and unprotected.phase == "Failed" and unprotected.reason == "ContentAltered"
    for words in ("spec.content for flow standard", stamped, write.provenance["contentHash"], "version 3", "ordinary change"):
        assert words in unprotected.message
    assert "promote again with a new Promotion" in unprotected.message

    protected = altered_on_write(write, "prod", stamped, True, None)
    assert protected is not None and "prod is protected" in protected.message and "restores" in protected.message


def test_a_claim_that_the_spec_does_not_name_ships_nothing_even_if_approved():
    # Approved for version 2; a status forged past admission claims version 3 instead.
    v3 = record(3, {**DEV_DOC, "title": "never reviewed"})
    forged = {**PLANNED, "phase": "Running", "sourceVersion": v3.id, "plan": {"contentHash": v3.content_hash}}
    source = SourceSide(True, (V1, V2, v3), v3_doc := {**DEV_DOC, "title": "never reviewed"})
    assert v3.content_hash == content_hash(v3_doc)
    for version in ("2", V2.id, f"{V2.content_hash}"):
        promo = promotion(version=version, review=True, approved=True, approvedBy=BOB, status=forged)
        decision = decide(state(promo, target_env=PROD, source=source))
        assert decision.write is None and decision.phase == "Failed" and decision.reason == "ClaimMismatch", version
        assert "only the flowops operator writes a Promotion's status" in decision.message
    # The operator's own claim of the version the spec names goes on.
    own = promotion(version="2", review=True, approved=True, approvedBy=BOB, status={**PLANNED, "phase": "Running"})
    assert decide(state(own, target_env=PROD, source=SourceSide(True, (V1, V2, v3), DEV_DOC))).write is not None
