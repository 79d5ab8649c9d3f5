"""Governance at admission: every attack on a rule is refused by the API server itself,
with real users' tokens and namespace-scoped as well as cluster-wide RoleBindings, and a read
proves nothing was written. No operator runs here: the rules hold without it.

One chain (development → staging → production, the sample defaults) is shared by the
module; tests that change an Environment's policy make their own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from flowops.kube import (
    APICLIENTS,
    APPLICATIONS,
    CONFIGMAPS,
    ENVIRONMENTS,
    FLOWS,
    NAMESPACES,
    PROMOTIONS,
    Kube,
)
from flowops.testing.admission import (
    bind,
    governed_environment,
    grant,
    refused,
    wait_until_admitted,
    wait_until_refused,
)
from flowops.testing.objects import API_VERSION, barrier, flow, promotion
from flowops.testing.waiting import wait_for


def ns(env: dict) -> str:
    return env["spec"]["namespace"]


def name(env: dict) -> str:
    return env["metadata"]["name"]


def environment(kube: Kube, tier: str, **spec: Any) -> dict:
    return governed_environment(kube, "gov", tier, **spec)


@pytest.fixture(scope="module")
def chain(kube: Kube) -> Iterator[tuple[dict, dict, dict]]:
    dev = environment(kube, "Development")
    staging = environment(kube, "Staging", upstream=name(dev), policy={"promotion": {"requireReview": False}})
    prod = environment(kube, "Production", upstream=name(staging))
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    yield dev, staging, prod


def reviewed(pname: str, source: dict, version: str = "1", **spec: Any) -> dict:
    return promotion(pname, name(source), "standard", version, review=True, **spec)


def nothing_written(kube: Kube, namespace: str, pname: str) -> None:
    assert kube.get_or_none(PROMOTIONS, pname, namespace) is None


# -- the path content takes ---------------------------------------------------------------


def test_skipping_a_stage_is_refused_naming_the_allowed_sources(kube, kube_as, chain):
    dev, staging, prod = chain
    refused(
        lambda: kube_as("promoter").create(PROMOTIONS, reviewed("skip", dev), ns(prod)),
        f"environment {name(prod)} accepts promotions only from {name(staging)}, {name(prod)}",
        f"not from {name(dev)}",
        "spec.policy.promotion.allowedSources",
    )
    nothing_written(kube, ns(prod), "skip")


def test_never_committed_content_is_refused(kube, kube_as, chain):
    dev, staging, _ = chain
    for version in ("uncommitted", "0"):
        refused(
            lambda v=version: kube_as("promoter").create(PROMOTIONS, promotion("raw", name(dev), "standard", v), ns(staging)),
            f"spec.source.version {version} is content that was never committed",
            "only ever promoted into a Development environment whose policy allows it",
        )
        nothing_written(kube, ns(staging), "raw")


def test_uncommitted_source_is_an_opt_in_of_development_targets(kube, kube_as, chain):
    dev, _, _ = chain
    sandbox = environment(kube, "Development", upstream=name(dev))  # protected by its upstream
    refused(
        lambda: kube.create(PROMOTIONS, reviewed("raw", dev, "uncommitted"), ns(sandbox)),
        "never committed",
        "allowUncommittedSource: true",
    )
    kube.merge_patch(ENVIRONMENTS, name(sandbox), {"spec": {"policy": {"promotion": {"allowUncommittedSource": True}}}})
    wait_until_admitted(lambda: kube.create(PROMOTIONS, reviewed("raw", dev, "uncommitted"), ns(sandbox), dry_run=True))
    kube.create(PROMOTIONS, reviewed("raw", dev, "uncommitted"), ns(sandbox))
    # Anywhere else it would be ignored: refused where it is written, instead.
    staging = chain[1]
    refused(
        lambda: kube.merge_patch(
            ENVIRONMENTS, name(staging), {"spec": {"policy": {"promotion": {"allowUncommittedSource": True}}}}
        ),
        "spec.policy.promotion.allowUncommittedSource is honoured only for tier Development",
    )
    assert kube.get(ENVIRONMENTS, name(staging))["spec"]["policy"]["promotion"].get("allowUncommittedSource") is not True


def test_head_into_a_protected_environment_must_be_pinned(kube, kube_as, chain):
    _, staging, prod = chain
    for version in ("HEAD", "latest"):
        refused(
            lambda v=version: kube_as("promoter").create(PROMOTIONS, reviewed("moving", staging, v), ns(prod)),
            f"environment {name(prod)} is protected: pin spec.source.version",
            f"instead of {version}",
            "spec.policy.promotion.allowHeadSource: true",
        )
        nothing_written(kube, ns(prod), "moving")


def test_unreviewed_promotion_into_production_is_refused_naming_promote_now(kube, kube_as, chain):
    _, staging, prod = chain
    refused(
        lambda: kube_as("promoter").create(PROMOTIONS, promotion("now", name(staging), "standard", "1"), ns(prod)),
        f"environment {name(prod)} requires review",
        "spec.review: true",
        "kubectl flowops approve",
        "spec.policy.promotion.requireReview: false",
    )
    nothing_written(kube, ns(prod), "now")


def test_staging_takes_promotions_from_development_without_review(kube, kube_as, chain):
    dev, staging, _ = chain
    created = kube_as("promoter").create(PROMOTIONS, promotion("ship", name(dev), "standard", "1"), ns(staging))
    assert created["spec"]["requestedBy"]["username"] == "bob-promoter"


def test_editing_staging_directly_is_refused(kube, kube_as, chain):
    _, staging, _ = chain
    # A flow of its own: with an operator running, the promotion above lands `standard` here.
    for user in ("editor", "admin"):
        refused(
            lambda u=user: kube_as(u).create(FLOWS, flow("hotfix", {"title": "hotfix"}), ns(staging)),
            f"environment {name(staging)} is protected",
            "Create a Promotion",
        )
    assert kube.get_or_none(FLOWS, "hotfix", ns(staging)) is None


# -- who may read, request and approve ----------------------------------------------------------


def test_a_source_the_requester_cannot_read_is_refused(kube, kube_as, chain):
    _, staging, prod = chain
    # erin may promote into production (a RoleBinding there) but may not read staging.
    bind(kube, ns(prod), "flowops-promoter", "erin-scoped")
    erin = kube_as("scoped")
    refused(
        lambda: erin.create(PROMOTIONS, reviewed("unread", staging), ns(prod)),
        f"erin-scoped cannot read the flows of source environment {name(staging)}",
        "get and list on flows and flowversions",
        "flowops-viewer",
    )
    nothing_written(kube, ns(prod), "unread")
    # Reading staging is exactly what was missing.
    bind(kube, ns(staging), "flowops-viewer", "erin-scoped")
    wait_until_admitted(lambda: erin.create(PROMOTIONS, reviewed("read", staging), ns(prod), dry_run=True))  # RBAC's cache
    assert erin.create(PROMOTIONS, reviewed("read", staging), ns(prod))["spec"]["requestedBy"]["username"] == "erin-scoped"


def test_approval_without_the_approve_permission_is_refused(kube, kube_as, chain):
    _, staging, prod = chain
    promoter = kube_as("promoter")
    promoter.create(PROMOTIONS, reviewed("needs-ok", staging), ns(prod))
    # The promoter may update Promotions (RBAC), but approving is a verb of its own.
    refused(
        lambda: promoter.merge_patch(PROMOTIONS, "needs-ok", {"spec": {"approved": True}}, ns(prod)),
        "bob-promoter may not approve Promotions",
        "approve permission",
        "flowops-approver",
    )
    refused(
        lambda: promoter.create(PROMOTIONS, reviewed("pre-ok", staging, approved=True), ns(prod)),
        "bob-promoter may not approve Promotions",
    )
    spec = kube.get(PROMOTIONS, "needs-ok", ns(prod))["spec"]
    assert spec["approved"] is False and "approvedBy" not in spec
    nothing_written(kube, ns(prod), "pre-ok")


def test_self_approval_is_refused(kube, kube_as, chain):
    _, staging, prod = chain
    # dave may approve everywhere, and create Promotions in production through a RoleBinding.
    bind(kube, ns(prod), "flowops-promoter", "dave-approver")
    dave = kube_as("approver")
    dave.create(PROMOTIONS, reviewed("own", staging), ns(prod))
    refused(
        lambda: dave.merge_patch(PROMOTIONS, "own", {"spec": {"approved": True}}, ns(prod)),
        f"separation of duties in environment {name(prod)}",
        "dave-approver requested this Promotion and cannot approve it",
    )
    refused(lambda: dave.create(PROMOTIONS, reviewed("own-at-once", staging, approved=True), ns(prod)), "separation of duties")
    assert kube.get(PROMOTIONS, "own", ns(prod))["spec"]["approved"] is False
    nothing_written(kube, ns(prod), "own-at-once")


def test_a_second_person_approves_and_the_api_server_records_both(kube, kube_as, chain):
    _, staging, prod = chain
    kube_as("promoter").create(PROMOTIONS, reviewed("four-eyes", staging), ns(prod))
    approved = kube_as("approver").merge_patch(PROMOTIONS, "four-eyes", {"spec": {"approved": True}}, ns(prod))["spec"]
    assert approved["requestedBy"]["username"] == "bob-promoter" and "flowops:promoters" in approved["requestedBy"]["groups"]
    assert approved["approvedBy"] == {
        "username": "dave-approver",
        "groups": ["flowops:approvers", "system:authenticated"],
        "via": "Cluster",
    }


def test_approver_groups_narrow_who_may_approve(kube, kube_as, chain):
    _, staging, _ = chain
    sre_only = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"approverGroups": ["flowops:sre"]}})
    kube_as("admin").create(PROMOTIONS, reviewed("sre", staging), ns(sre_only))
    refused(
        lambda: kube_as("approver").merge_patch(PROMOTIONS, "sre", {"spec": {"approved": True}}, ns(sre_only)),
        f"approvals in environment {name(sre_only)} are reserved to the groups flowops:sre",
        "spec.policy.promotion.approverGroups",
        "dave-approver is in none of them",
    )
    assert kube.get(PROMOTIONS, "sre", ns(sre_only))["spec"]["approved"] is False


def test_requester_and_approver_cannot_be_forged(kube, kube_as, chain):
    _, staging, prod = chain
    promoter = kube_as("promoter")
    forged = reviewed("forged", staging, requestedBy={"username": "dave-approver", "groups": ["flowops:approvers"]})
    assert promoter.create(PROMOTIONS, forged, ns(prod))["spec"]["requestedBy"]["username"] == "bob-promoter"  # overwritten

    refused(
        lambda: promoter.create(
            PROMOTIONS, reviewed("pre-signed", staging, approvedBy={"username": "dave-approver", "via": "Cluster"}), ns(prod)
        ),
        "spec.approvedBy is recorded by the API server",
        "remove it from your manifest",
    )
    nothing_written(kube, ns(prod), "pre-signed")
    refused(
        lambda: kube.merge_patch(
            PROMOTIONS, "forged", {"spec": {"approvedBy": {"username": "dave-approver", "via": "Cluster"}}}, ns(prod)
        ),
        "spec.approvedBy is recorded by the API server",
    )
    refused(
        lambda: kube.merge_patch(PROMOTIONS, "forged", {"spec": {"requestedBy": {"username": "dave-approver"}}}, ns(prod)),
        "spec.requestedBy is recorded by the API server when the Promotion is created and cannot be changed",
    )

    kube_as("approver").merge_patch(PROMOTIONS, "forged", {"spec": {"approved": True}}, ns(prod))
    refused(
        lambda: kube.merge_patch(PROMOTIONS, "forged", {"spec": {"approvedBy": {"username": "flowops-admin"}}}, ns(prod)),
        "spec.approvedBy is recorded by the API server when the Promotion is approved and cannot be changed",
    )
    spec = kube.get(PROMOTIONS, "forged", ns(prod))["spec"]
    assert (spec["requestedBy"]["username"], spec["approvedBy"]["username"]) == ("bob-promoter", "dave-approver")


def test_only_a_gitops_approver_may_create_a_promotion_already_approved(kube, kube_as, chain):
    _, staging, _ = chain
    flux = "system:serviceaccount:flux-system:flowops-applier"
    prod = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"gitopsApprovers": [flux]}})
    for namespace, role in ((ns(prod), "flowops-promoter"), (ns(staging), "flowops-viewer")):
        bind(kube, namespace, role, flux)
    from_git = kube_as("gitops").create(PROMOTIONS, reviewed("from-git", staging, approved=True), ns(prod))["spec"]
    assert from_git["approvedBy"]["via"] == "GitOps" and from_git["approvedBy"]["username"] == flux
    assert from_git["requestedBy"]["username"] == flux
    refused(
        lambda: kube_as("promoter").create(PROMOTIONS, reviewed("not-git", staging, approved=True), ns(prod)),
        "may not approve Promotions",
    )
    nothing_written(kube, ns(prod), "not-git")


# -- freeze ----------------------------------------------------------------------------------------


def test_a_frozen_environment_refuses_promotions_but_not_rollbacks(kube, kube_as, chain):
    _, staging, _ = chain
    prod = environment(kube, "Production", upstream=name(staging))
    kube_as("promoter").create(PROMOTIONS, reviewed("waiting", staging), ns(prod))
    kube.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"freeze": {"reason": "release night, ask #sre"}}})
    wait_until_refused(lambda: kube.create(PROMOTIONS, reviewed("probe", staging), ns(prod), dry_run=True), "is frozen")
    # One that waited from before the freeze is not approved into it either.
    refused(
        lambda: kube_as("approver").merge_patch(PROMOTIONS, "waiting", {"spec": {"approved": True}}, ns(prod)),
        f"environment {name(prod)} is frozen: release night, ask #sre",
        "(and approvals of waiting ones) are refused",
    )
    assert kube.get(PROMOTIONS, "waiting", ns(prod))["spec"]["approved"] is False
    refused(
        lambda: kube_as("promoter").create(PROMOTIONS, reviewed("frozen", staging), ns(prod)),
        f"environment {name(prod)} is frozen: release night, ask #sre",
        "a rollback",
        "removing spec.freeze",
    )
    nothing_written(kube, ns(prod), "frozen")
    kube_as("promoter").create(PROMOTIONS, reviewed("rollback", prod), ns(prod))
    kube_as("promoter").create(PROMOTIONS, reviewed("rollback-named", prod, target={"flow": "standard"}), ns(prod))
    # From the environment itself into another flow is a copy, new content there: the operator
    # would refuse it as Frozen, so admission does too.
    refused(
        lambda: kube_as("promoter").create(PROMOTIONS, reviewed("copy", prod, target={"flow": "standard-copy"}), ns(prod)),
        f"environment {name(prod)} is frozen: release night, ask #sre",
        "copies too: copying flow standard into flow standard-copy is not a rollback",
        "itself into the same flow) is still allowed",
    )
    nothing_written(kube, ns(prod), "copy")

    kube.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"freeze": {"allowRollback": False}}})
    wait_until_refused(lambda: kube.create(PROMOTIONS, reviewed("rollback-too", prod), ns(prod), dry_run=True), "rollbacks too")
    refused(
        lambda: kube_as("promoter").create(PROMOTIONS, reviewed("rollback-too", prod), ns(prod)),
        "is frozen: release night",
        "rollbacks too (spec.freeze.allowRollback is false)",
    )
    nothing_written(kube, ns(prod), "rollback-too")


# -- what production serves ------------------------------------------------------------------------


def test_an_editor_cannot_repin_or_delete_a_production_apiclient(kube, kube_as, chain):
    _, staging, _ = chain
    prod = environment(kube, "Production", upstream=name(staging))
    client = {
        "apiVersion": API_VERSION,
        "kind": "ApiClient",
        "metadata": {"name": "shop"},
        "spec": {"defaultFlow": {"name": "standard", "version": "1"}},
    }
    created = kube_as("promoter").create(APICLIENTS, client, ns(prod))
    assert created["metadata"]["annotations"]["flowops.io/changed-by"] == "bob-promoter"  # who, by the API server
    # The editor role cluster-wide, and a namespace-scoped editor binding: neither is enough.
    bind(kube, ns(prod), "flowops-editor", "erin-scoped")
    for user, username in (("editor", "alice-editor"), ("scoped", "erin-scoped")):
        editor = kube_as(user)
        refused(
            lambda e=editor: e.merge_patch(APICLIENTS, "shop", {"spec": {"defaultFlow": {"version": "2"}}}, ns(prod)),
            f"environment {name(prod)} is protected",
            "is a production change",
            f"{username} may not promote",
        )
        refused(lambda e=editor: e.delete(APICLIENTS, "shop", ns(prod)), "is a production change")
        refused(
            lambda e=editor: e.create(APICLIENTS, {**client, "metadata": {"name": "sneaky"}}, ns(prod)), "is a production change"
        )
    after = kube.get(APICLIENTS, "shop", ns(prod))
    assert after["spec"]["defaultFlow"] == {"name": "standard", "version": "1"}
    assert after["metadata"]["annotations"]["flowops.io/changed-by"] == "bob-promoter"
    assert kube.get_or_none(APICLIENTS, "sneaky", ns(prod)) is None


def test_only_an_approver_takes_a_client_offline_where_review_is_required(kube, kube_as, chain, running_operator):
    _, staging, _ = chain
    flux = "system:serviceaccount:flux-system:flowops-applier"
    prod = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"gitopsApprovers": [flux]}})
    relaxed = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"requireReview": False}})

    def client(cname: str) -> dict:
        return {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": cname}, "spec": {}}

    for cname in ("shop", "synced"):
        kube_as("promoter").create(APICLIENTS, client(cname), ns(prod))
    kube_as("promoter").create(APICLIENTS, client("shop"), ns(relaxed))
    barrier(kube, APICLIENTS, ns(prod), "shop")  # the operator's own writes of it are done
    before = kube.get(APICLIENTS, "shop", ns(prod))["metadata"]["resourceVersion"]
    # The promoter role cluster-wide, and bound in this namespace only: neither takes it offline.
    bind(kube, ns(prod), "flowops-promoter", "erin-scoped")
    for user, username in (("promoter", "bob-promoter"), ("scoped", "erin-scoped")):
        refused(
            lambda u=user: kube_as(u).delete(APICLIENTS, "shop", ns(prod)),
            f"environment {name(prod)} requires review: deleting ApiClient shop takes it offline (its ConfigMap is deleted",
            f"{username} may not approve in namespace {ns(prod)} (ClusterRole flowops-approver)",
            f"spec.policy.promotion.gitopsApprovers of Environment {name(prod)}",
        )
    # Nor does deleting the whole collection (with the RBAC verb for it): each item is refused.
    grant(
        kube, ns(prod), "erin-scoped", {"apiGroups": ["flowops.io"], "resources": ["apiclients"], "verbs": ["deletecollection"]}
    )
    refused(lambda: kube_as("scoped").request("DELETE", APICLIENTS.path(ns(prod))), "requires review: deleting ApiClient")
    after = kube.get(APICLIENTS, "shop", ns(prod))["metadata"]
    assert after["resourceVersion"] == before and "deletionTimestamp" not in after
    assert kube.get_or_none(APICLIENTS, "synced", ns(prod)) is not None
    # An Application's deletion leaves its clients serving what they hold: a promoter's step.
    application = {"apiVersion": API_VERSION, "kind": "Application", "metadata": {"name": "web"}, "spec": {}}
    kube_as("promoter").create(APPLICATIONS, application, ns(prod))
    kube_as("promoter").delete(APPLICATIONS, "web", ns(prod))

    # The right to approve, granted in this namespace only, is what it takes.
    bind(kube, ns(prod), "flowops-approver", "erin-scoped")
    kube_as("scoped").delete(APICLIENTS, "shop", ns(prod))
    # The GitOps sync listed as an approver prunes what git no longer holds.
    bind(kube, ns(prod), "flowops-promoter", flux)
    kube_as("gitops").delete(APICLIENTS, "synced", ns(prod))
    assert kube.get_or_none(APICLIENTS, "shop", ns(prod)) is None and kube.get_or_none(APICLIENTS, "synced", ns(prod)) is None
    # Where promotions need no review, removing a client is the promoter's to do.
    kube_as("promoter").delete(APICLIENTS, "shop", ns(relaxed))


def test_only_an_approver_sets_who_owns_a_client_where_review_is_required(kube, kube_as, chain):
    """The garbage collector deletes a client whose owners are gone, and its ConfigMap with
    it: an owner reference is a deletion set up in advance."""
    _, staging, _ = chain
    prod = environment(kube, "Production", upstream=name(staging))
    promoter = kube_as("promoter")
    promoter.create(
        APICLIENTS, {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "shop"}, "spec": {}}, ns(prod)
    )
    web = {"apiVersion": API_VERSION, "kind": "Application", "metadata": {"name": "web"}, "spec": {}}
    web_uid = promoter.create(APPLICATIONS, web, ns(prod))["metadata"]["uid"]
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": str(uuid.uuid4())}
    owned_by_web = {"apiVersion": API_VERSION, "kind": "Application", "name": "web", "uid": web_uid}
    bind(kube, ns(prod), "flowops-promoter", "erin-scoped")
    for user, username in (("promoter", "bob-promoter"), ("scoped", "erin-scoped")):
        for owner in (ghost, owned_by_web):
            refused(
                lambda u=user, o=owner: kube_as(u).merge_patch(
                    APICLIENTS, "shop", {"metadata": {"ownerReferences": [o]}}, ns(prod)
                ),
                f"environment {name(prod)} requires review: the ownerReferences of ApiClient shop decide when the "
                "garbage collector deletes it",
                f"{username} may not approve in namespace {ns(prod)} (ClusterRole flowops-approver)",
            )
    refused(
        lambda: promoter.json_patch(
            APICLIENTS, "shop", [{"op": "add", "path": "/metadata/ownerReferences", "value": [ghost]}], ns(prod)
        ),
        "the ownerReferences of ApiClient shop",
    )
    assert "ownerReferences" not in kube.get(APICLIENTS, "shop", ns(prod))["metadata"]
    # Nor at creation: the client is in service by the time its owner goes.
    owned = {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "owned", "ownerReferences": [owned_by_web]}}
    refused(
        lambda: promoter.create(APICLIENTS, {**owned, "spec": {}}, ns(prod)),
        "requires review: the ownerReferences of ApiClient owned decide when the garbage collector deletes it",
    )
    assert kube.get_or_none(APICLIENTS, "owned", ns(prod)) is None

    # One who may approve sets an owner; deleting that owner with orphaning leaves the client
    # (the garbage collector, let through, removes the owner from its references).
    garbage_collector_knows_bindings(kube, ns(prod))
    kube.merge_patch(APICLIENTS, "shop", {"metadata": {"ownerReferences": [owned_by_web]}}, ns(prod))
    kube.delete(APPLICATIONS, "web", ns(prod), propagation="Orphan")
    wait_for(
        lambda: (
            kube.get_or_none(APPLICATIONS, "web", ns(prod)) is None
            and not kube.get(APICLIENTS, "shop", ns(prod))["metadata"].get("ownerReferences")
        ),
        message="the garbage collector to orphan shop and remove web",
    )


def test_where_approvals_are_reserved_to_groups_only_those_take_a_client_offline(kube, kube_as, chain):
    _, staging, _ = chain
    reserved = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"approverGroups": ["flowops:sre"]}})
    starred = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"approverGroups": ["*"]}})
    theirs = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"approverGroups": ["flowops:team-a"]}})
    client = {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "shop"}, "spec": {}}
    for env in (reserved, starred, theirs):
        created = kube_as("promoter").create(APICLIENTS, client, ns(env))
        # The API server records the writer's groups with the writer, for the operator's review of pins.
        assert "flowops:promoters" in json.loads(created["metadata"]["annotations"]["flowops.io/changed-by-groups"])
        for role in ("flowops-promoter", "flowops-approver"):
            bind(kube, ns(env), role, "erin-scoped")
    # erin may approve in both namespaces (RoleBindings), but is in flowops:team-a only.
    refused(
        lambda: kube_as("scoped").delete(APICLIENTS, "shop", ns(reserved)),
        "requires review: deleting ApiClient shop takes it offline",
        "and one of the groups flowops:sre in spec.policy.promotion.approverGroups",
    )
    assert kube.get_or_none(APICLIENTS, "shop", ns(reserved)) is not None
    # "*" is a group's name like any other, as for approving a Promotion: not "any group".
    refused(lambda: kube_as("scoped").delete(APICLIENTS, "shop", ns(starred)), "and one of the groups * in")
    assert kube.get_or_none(APICLIENTS, "shop", ns(starred)) is not None
    kube_as("scoped").delete(APICLIENTS, "shop", ns(theirs))


def garbage_collector_knows_bindings(kube: Kube, namespace: str) -> None:
    """Until the garbage collector follows ApiClients owned by Applications (it discovers new
    kinds every 30 s; before that, an orphaning delete finds no dependents): a probe client
    goes with its deleted owner."""
    owner = {"apiVersion": API_VERSION, "kind": "Application", "metadata": {"name": "gc-probe"}, "spec": {}}
    uid = kube.create(APPLICATIONS, owner, namespace)["metadata"]["uid"]
    reference = {"apiVersion": API_VERSION, "kind": "Application", "name": "gc-probe", "uid": uid}
    probe = {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "gc-probe", "ownerReferences": [reference]}}
    kube.create(APICLIENTS, {**probe, "spec": {}}, namespace)
    kube.delete(APPLICATIONS, "gc-probe", namespace)
    wait_for(lambda: kube.get_or_none(APICLIENTS, "gc-probe", namespace) is None, timeout=120, message="the garbage collector")


def test_the_recorded_changer_cannot_be_typed(kube, kube_as, cluster, chain):
    dev, _, _ = chain
    client = {
        "apiVersion": API_VERSION,
        "kind": "ApiClient",
        "metadata": {"name": "typed", "annotations": {"flowops.io/changed-by": "dave-approver"}},
        "spec": {},
    }
    assert (
        kube_as("editor").create(APICLIENTS, client, ns(dev))["metadata"]["annotations"]["flowops.io/changed-by"]
        == "alice-editor"
    )
    wide = cluster.kubectl("get", "apiclient", "typed", "-n", ns(dev), "-o", "wide").stdout.decode().splitlines()
    assert wide[0].split()[-1] == "CHANGED-BY" and wide[1].split()[-1] == "alice-editor"

    # A write that leaves the spec alone keeps the record, whatever it types or removes.
    def record(meta: dict) -> dict:
        return {k: v for k, v in meta["annotations"].items() if k.startswith("flowops.io/changed-by")}

    recorded = record(kube.get(APICLIENTS, "typed", ns(dev))["metadata"])
    assert recorded["flowops.io/changed-by-approver"] == "false"
    typed = {"flowops.io/changed-by": "dave-approver", "flowops.io/changed-by-approver": "true"}
    editor = kube_as("editor")
    assert record(editor.merge_patch(APICLIENTS, "typed", {"metadata": {"annotations": typed}}, ns(dev))["metadata"]) == recorded
    removed = [{"op": "remove", "path": "/metadata/annotations/flowops.io~1changed-by-approver"}]
    assert record(editor.json_patch(APICLIENTS, "typed", removed, ns(dev))["metadata"]) == recorded


# -- operator-owned metadata and status --------------------------------------------------------------


def test_operator_annotations_and_labels_are_the_operators(kube, kube_as, chain):
    dev, _, _ = chain
    editor = kube_as("editor")
    provenance = {"flowops.io/promotion": '{"uid": "x", "contentHash": "sha256:00"}'}
    refused(
        lambda: editor.create(FLOWS, flow("posing", {"title": "x"}, annotations=provenance), ns(dev)),
        "only the flowops operator may set, change or remove flowops.io/promotion",
    )
    assert kube.get_or_none(FLOWS, "posing", ns(dev)) is None
    for patch in (
        {"metadata": {"annotations": provenance}},
        {"metadata": {"labels": {"flowops.io/ready": "true"}}},
        {"metadata": {"annotations": {"kopf.flowops.io/last-handled": "{}"}}},
    ):
        refused(lambda p=patch: editor.merge_patch(FLOWS, "standard", p, ns(dev)), "only the flowops operator may set")
    meta = kube.get(FLOWS, "standard", ns(dev))["metadata"]
    # The operator, when a session runs one, writes its own kopf.flowops.io/ record: only
    # what the editor tried must be absent.
    annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    assert "flowops.io/promotion" not in annotations and "flowops.io/ready" not in labels
    assert annotations.get("kopf.flowops.io/last-handled") != "{}"
    # The keys that are the user's stay the user's.
    editor.merge_patch(FLOWS, "standard", {"metadata": {"annotations": {"flowops.io/change-cause": "typo"}}}, ns(dev))


def test_flow_status_in_a_protected_namespace_is_the_operators(kube, kube_as, chain):
    _, _, prod = chain
    kube_as("operator").create(FLOWS, flow("served", {"title": "v1"}), ns(prod))
    kube_as("operator").patch_status(FLOWS, "served", {"latestReadyNumber": 1}, ns(prod))
    refused(
        lambda: kube.patch_status(FLOWS, "served", {"latestReadyNumber": 7}, ns(prod)),
        f"environment {name(prod)} is protected: the status of flow served is written only by the flowops operator",
    )
    assert kube.get(FLOWS, "served", ns(prod))["status"]["latestReadyNumber"] == 1


def test_a_binding_created_without_a_spec_stays_writable(kube, kube_as, chain):
    """spec is optional; the writer's stamp compares specs, and a missing one is empty."""
    dev, _, _ = chain
    editor = kube_as("editor")
    for resource, kind in ((APICLIENTS, "ApiClient"), (APPLICATIONS, "Application")):
        editor.create(resource, {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "bare"}}, ns(dev))
        editor.merge_patch(resource, "bare", {"metadata": {"labels": {"team": "a"}}}, ns(dev))
        written = kube.merge_patch(resource, "bare", {"spec": {"defaultFlow": {"name": "standard"}}}, ns(dev))
        assert written["metadata"]["labels"] == {"team": "a"}
        assert written["metadata"]["annotations"]["flowops.io/changed-by"] == "flowops-admin"


def test_client_status_in_a_protected_namespace_is_the_operators(kube, kube_as, chain):
    """An ApiClient's status says what it serves, and its reviewedGeneration is where its pin
    review starts: someone granted the status subresource still may not write it there."""
    _, _, prod = chain
    client = {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "reviewed"}, "spec": {}}
    kube_as("promoter").create(APICLIENTS, client, ns(prod))
    kube_as("operator").patch_status(APICLIENTS, "reviewed", {"reviewedGeneration": 0}, ns(prod))
    rule = {"apiGroups": ["flowops.io"], "resources": ["apiclients/status", "applications/status"], "verbs": ["patch"]}
    grant(kube, ns(prod), "erin-scoped", rule)
    refused(
        lambda: kube_as("scoped").patch_status(APICLIENTS, "reviewed", {"reviewedGeneration": 1}, ns(prod)),
        f"environment {name(prod)} is protected: the status of ApiClient reviewed is written only by the flowops operator",
    )
    assert kube.get(APICLIENTS, "reviewed", ns(prod))["status"]["reviewedGeneration"] == 0


def test_client_status_where_review_is_required_is_the_operators(kube, kube_as, make_environment):
    """Review required without protection (a development environment that opts in): the
    pin review still starts from status.reviewedGeneration, so only the operator writes it;
    a Flow's status there stays as open as the Flow."""
    env = make_environment("Development", policy={"promotion": {"requireReview": True}})
    namespace = env["spec"]["namespace"]
    client = {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "reviewed"}, "spec": {}}
    kube.create(APICLIENTS, client, namespace)
    kube_as("operator").patch_status(APICLIENTS, "reviewed", {"reviewedGeneration": 0}, namespace)
    rule = {"apiGroups": ["flowops.io"], "resources": ["apiclients/status", "flows/status"], "verbs": ["patch"]}
    grant(kube, namespace, "erin-scoped", rule)
    refused(
        lambda: kube_as("scoped").patch_status(APICLIENTS, "reviewed", {"reviewedGeneration": 1}, namespace),
        f"environment {env['metadata']['name']} requires review: the status of ApiClient reviewed is written only by the "
        "flowops operator (it reports what the environment serves, and where its pin review starts): remove status",
    )
    refused(
        lambda: kube.patch_status(APICLIENTS, "reviewed", {"reviewedGeneration": 1}, namespace),
        "requires review: the status of ApiClient reviewed is written only by the flowops operator",
    )
    assert kube.get(APICLIENTS, "reviewed", namespace)["status"]["reviewedGeneration"] == 0
    kube.create(FLOWS, flow("open", {"title": "v1"}), namespace)
    kube_as("scoped").patch_status(FLOWS, "open", {"latestReadyNumber": 1}, namespace)


def test_the_operator_writes_configmaps_only_in_environment_namespaces(kube, kube_as, chain):
    dev, _, _ = chain
    operator = kube_as("operator")
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe-flow"}, "data": {}}
    for namespace in ("kube-system", "default"):
        refused(
            lambda n=namespace: operator.create(CONFIGMAPS, configmap, n),
            "the flowops operator writes ConfigMaps only in namespaces of an Environment",
            f"label namespace {namespace} with flowops.io/environment=<its Environment>",
        )
        assert kube.get_or_none(CONFIGMAPS, "probe-flow", namespace) is None
    operator.create(CONFIGMAPS, configmap, ns(dev))
    operator.delete(CONFIGMAPS, "probe-flow", ns(dev))


# -- environments ----------------------------------------------------------------------------------


def test_a_second_environment_on_a_claimed_namespace_is_refused(kube, chain):
    _, _, prod = chain
    rival = {
        "apiVersion": API_VERSION,
        "kind": "Environment",
        "metadata": {"name": f"rival-{uuid.uuid4().hex[:6]}"},
        "spec": {"namespace": ns(prod), "tier": "Development"},
    }
    refused(
        lambda: kube.create(ENVIRONMENTS, rival),
        f"namespace {ns(prod)} already belongs to Environment {name(prod)}",
        "one Environment per namespace",
    )
    assert kube.get_or_none(ENVIRONMENTS, rival["metadata"]["name"]) is None


@pytest.mark.parametrize("namespace", ["flowops-system", "kube-system", "kube-public"])
def test_no_environment_claims_the_operators_or_the_clusters_namespace(kube, namespace):
    """Their ServiceAccounts are trusted by name (the operator's by every policy): an
    environment's editors and promoters have no business there."""
    claim = {
        "apiVersion": API_VERSION,
        "kind": "Environment",
        "metadata": {"name": f"claim-{uuid.uuid4().hex[:6]}"},
        "spec": {"namespace": namespace, "tier": "Development"},
    }
    refused(lambda: kube.create(ENVIRONMENTS, claim), "spec.namespace may not be flowops-system", "a namespace of its own")
    assert kube.get_or_none(ENVIRONMENTS, claim["metadata"]["name"]) is None


def test_a_protected_environment_is_not_deleted_in_one_step(kube, kube_as, chain):
    _, staging, _ = chain
    prod = environment(kube, "Production", upstream=name(staging))
    refused(
        lambda: kube.delete(ENVIRONMENTS, name(prod)),
        f"Environment {name(prod)} is protected",
        f"kubectl annotate environment {name(prod)} flowops.io/deletion-allowed=true",
    )
    refused(lambda: kube.delete(NAMESPACES, ns(prod)), f"namespace {ns(prod)} holds protected Environment {name(prod)}")
    # Without the label the operator works by, its namespace is kept all the same.
    kube.json_patch(NAMESPACES, ns(prod), [{"op": "remove", "path": "/metadata/labels/flowops.io~1environment"}])
    refused(lambda: kube.delete(NAMESPACES, ns(prod)), f"namespace {ns(prod)} holds protected Environment {name(prod)}")
    assert kube.get(ENVIRONMENTS, name(prod))["metadata"].get("deletionTimestamp") is None
    assert kube.get(NAMESPACES, ns(prod))["metadata"].get("deletionTimestamp") is None
    # Nor is a protected staging made editable in one step.
    staged = environment(kube, "Staging", upstream=name(staging))
    for change in ({"spec": {"protected": False}}, {"spec": {"upstream": None}}):
        refused(
            lambda c=change: kube.merge_patch(ENVIRONMENTS, name(staged), c),
            f"Environment {name(staged)} is protected: this change",
            "unprotected at once",
            "flowops.io/deletion-allowed=true",
        )
    assert kube.get(ENVIRONMENTS, name(staged))["spec"]["upstream"] == name(staging)

    # The opt-in is recorded with the name of whoever set it, whatever they typed.
    opted = kube.merge_patch(
        ENVIRONMENTS,
        name(prod),
        {"metadata": {"annotations": {"flowops.io/deletion-allowed": "true", "flowops.io/deletion-allowed-by": "somebody-else"}}},
    )
    assert opted["metadata"]["annotations"]["flowops.io/deletion-allowed-by"] == "flowops-admin"
    kube.delete(ENVIRONMENTS, name(prod))
    assert kube.get_or_none(ENVIRONMENTS, name(prod)) is None
