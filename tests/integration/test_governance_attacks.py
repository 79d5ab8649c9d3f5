"""Attacks on governance by every shipped role, through every way of writing an object
(merge patch, JSON patch, update, server-side apply, subresources, delete collections):
each is refused by the API server with words that name the rule, and a read proves nothing
was written. No operator runs here: the rules hold without it.

One chain (development → staging → production, the sample defaults) is shared by the module.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from flowops.devcluster import install
from flowops.domain import separation
from flowops.kube import (
    CONFIGMAPS,
    ENVIRONMENTS,
    FLOWS,
    FLOWVERSIONS,
    NAMESPACES,
    PROMOTIONS,
    AlreadyExists,
    Conflict,
    Kube,
)
from flowops.testing.admission import (
    ROLEBINDINGS,
    ROLES,
    as_service_account,
    bind,
    governed_environment,
    grant,
    grant_cluster,
    refused,
    wait_until_admitted,
    wait_until_refused,
)
from flowops.testing.objects import API_VERSION, flow, promotion, wait_for_number, wait_for_phase

FLUX = "system:serviceaccount:flux-system:flowops-applier"


def ns(env: dict) -> str:
    return env["spec"]["namespace"]


def name(env: dict) -> str:
    return env["metadata"]["name"]


def environment(kube: Kube, tier: str, **spec: Any) -> dict:
    return governed_environment(kube, "atk", tier, **spec)


@pytest.fixture(scope="module")
def chain(kube: Kube, kube_as: Callable[[str], Kube]) -> Iterator[tuple[dict, dict, dict]]:
    dev = environment(kube, "Development")
    staging = environment(kube, "Staging", upstream=name(dev), policy={"promotion": {"requireReview": False}})
    prod = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"gitopsApprovers": [FLUX]}})
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    # What the operator would have written in production: a flow and an ApiClient's ConfigMap.
    kube_as("operator").create(FLOWS, flow("served", {"title": "v1"}), ns(prod))
    kube_as("operator").create(
        CONFIGMAPS,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shop-flow", "labels": {"flowops.io/materialised": "true"}},
            "data": {"flow.json": '{"title":"v1"}'},
        },
        ns(prod),
    )
    try:
        kube_as("operator").create(
            FLOWVERSIONS,
            {
                "apiVersion": API_VERSION,
                "kind": "FlowVersion",
                "metadata": {"name": "served-00001"},
                "spec": {
                    "flow": "served",
                    "id": "20260101000000000001",
                    "number": 1,
                    "origin": "Commit",
                    "contentHash": "sha256:" + "0" * 64,
                    "storage": {"encoding": "Full", "data": "", "bytes": 0},
                },
            },
            ns(prod),
        )
    except AlreadyExists:
        pass  # a running operator committed the flow first: its version stands in
    bind(kube, ns(prod), "flowops-promoter", FLUX)
    bind(kube, ns(staging), "flowops-viewer", FLUX)
    yield dev, staging, prod
    # The stand-in version has no flow label: an operator running later in the session would
    # retry version 1 of "served" forever. Take both away, as the operator may.
    kube_as("operator").delete(FLOWVERSIONS, "served-00001", ns(prod))
    kube_as("operator").delete(FLOWS, "served", ns(prod))


def reviewed(pname: str, source: dict, **spec: Any) -> dict:
    return promotion(pname, name(source), "standard", "1", review=True, **spec)


def applied(body: dict, namespace: str) -> dict:
    return {**body, "metadata": {**body["metadata"], "namespace": namespace}}


# -- holes that were open --------------------------------------------------------------------


def test_approving_where_no_environment_governs_still_needs_the_permission_and_true_groups(kube, kube_as, chain):
    """Nothing stamps an approval in a namespace no Environment manages; a hand-written one
    (forged groups, or no approve permission) would wait there for an Environment to claim it."""
    _, staging, _ = chain
    loose = f"atk-loose-{uuid.uuid4().hex[:6]}"
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": loose}})
    bob = kube_as("promoter")
    true_groups = ["flowops:promoters", "system:authenticated"]
    for pname, approved_by, words in (
        (
            "forged-groups",
            {"username": "bob-promoter", "groups": ["flowops:sre"], "via": "Cluster"},
            "spec.approvedBy is recorded by the API server",
        ),
        (
            "no-permission",
            {"username": "bob-promoter", "groups": true_groups, "via": "Cluster"},
            "bob-promoter may not approve Promotions in namespace " + loose,
        ),
        # Only a sync's ServiceAccount is ever stamped GitOps: a person writing it skips nothing.
        (
            "claims-gitops",
            {"username": "bob-promoter", "groups": true_groups, "via": "GitOps"},
            "bob-promoter may not approve Promotions in namespace " + loose,
        ),
    ):
        refused(
            lambda p=pname, a=approved_by: bob.create(PROMOTIONS, reviewed(p, staging, approved=True, approvedBy=a), loose), words
        )
        assert kube.get_or_none(PROMOTIONS, pname, loose) is None
    bob.create(PROMOTIONS, reviewed("later", staging), loose)
    refused(
        lambda: bob.merge_patch(
            PROMOTIONS,
            "later",
            {"spec": {"approved": True, "approvedBy": {"username": "bob-promoter", "groups": true_groups, "via": "Cluster"}}},
            loose,
        ),
        "bob-promoter may not approve Promotions",
    )
    refused(
        lambda: bob.merge_patch(
            PROMOTIONS,
            "later",
            {"spec": {"approved": True, "approvedBy": {"username": "bob-promoter", "groups": true_groups, "via": "GitOps"}}},
            loose,
        ),
        "bob-promoter may not approve Promotions",
    )
    assert "approvedBy" not in kube.get(PROMOTIONS, "later", loose)["spec"]


def test_a_gitops_approval_counts_only_for_a_promotion_applied_from_git(kube, kube_as, chain):
    """Somebody creates, in the cluster, the Promotion a pull request names, with a spec the
    pull request never had; the controller's apply of the merged PR must not approve it."""
    _, staging, prod = chain
    kube_as("promoter").create(
        PROMOTIONS, reviewed("release-9", staging, changes={"exclude": ["/title"]}, comment="PR #42"), ns(prod)
    )
    from_git = applied(reviewed("release-9", staging, approved=True), ns(prod))
    # Two policies refuse it (it is no GitOps approval, and it lacks the approve permission);
    # either may answer first.
    refused(
        lambda: kube_as("gitops").apply(PROMOTIONS, "release-9", from_git, ns(prod), field_manager="kustomize-controller"),
        FLUX,
        "approve permission",
    )
    spec = kube.get(PROMOTIONS, "release-9", ns(prod))["spec"]
    assert spec["approved"] is False and "approvedBy" not in spec

    # The controller's own Promotion, approved in a later commit, stays a GitOps approval.
    kube_as("gitops").apply(
        PROMOTIONS,
        "release-10",
        applied(reviewed("release-10", staging), ns(prod)),
        ns(prod),
        field_manager="kustomize-controller",
    )
    approved = kube_as("gitops").apply(
        PROMOTIONS,
        "release-10",
        applied(reviewed("release-10", staging, approved=True), ns(prod)),
        ns(prod),
        field_manager="kustomize-controller",
    )["spec"]
    assert (approved["approvedBy"]["username"], approved["approvedBy"]["via"]) == (FLUX, "GitOps")


def test_a_gitops_approver_with_the_approve_permission_still_approves_only_what_it_applied(kube, kube_as, chain):
    """Granted flowops-approver as well, the sync's apply of a merged pull request would
    approve, as a cluster approval, a Promotion somebody created first under the pull
    request's name: with the squatter's target and exclusions."""
    _, staging, _ = chain
    prod = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"gitopsApprovers": [FLUX]}})
    bind(kube, ns(prod), "flowops-promoter", FLUX)
    bind(kube, ns(prod), "flowops-approver", FLUX)
    squatted = reviewed("release-43", staging, target={"flow": "served"}, changes={"exclude": ["/title"]})
    kube_as("promoter").create(PROMOTIONS, squatted, ns(prod))
    from_git = applied(reviewed("release-43", staging, approved=True), ns(prod))
    for write in (
        lambda: kube_as("gitops").apply(
            PROMOTIONS, "release-43", from_git, ns(prod), field_manager="kustomize-controller", force=True
        ),
        lambda: kube_as("gitops").merge_patch(PROMOTIONS, "release-43", {"spec": {"approved": True}}, ns(prod)),
    ):
        refused(
            write,
            f"{FLUX} is a GitOps approver of environment {name(prod)} (spec.policy.promotion.gitopsApprovers)",
            "it approves only Promotions it applied from git",
            "created in the cluster by bob-promoter",
        )
    spec = kube.get(PROMOTIONS, "release-43", ns(prod))["spec"]
    assert spec["approved"] is False and "approvedBy" not in spec


def _rule(route: separation.Route) -> dict:
    resource = route.resource + (f"/{route.subresource}" if route.subresource else "")
    return {"apiGroups": [route.group], "resources": [resource], "verbs": [route.verb]}


# Every route domain/separation.py names (admission asks the same: a unit test keeps them so),
# each as one narrow Role in the ServiceAccount's namespace.
ACTING_AS = {
    "-".join(filter(None, (r.verb.replace(":", "-"), r.resource, r.subresource))): r for r in separation.SERVICE_ACCOUNT_ROUTES
}


def _ci_bot(kube: Kube, staging: dict, prod: dict, bot_name: str) -> tuple[str, str, Kube]:
    """A fresh namespace and a ServiceAccount there that may promote into production."""
    ci = f"atk-ci-{uuid.uuid4().hex[:6]}"
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ci}})
    bot = as_service_account(kube, ci, bot_name)
    account = f"system:serviceaccount:{ci}:{bot_name}"
    bind(kube, ns(prod), "flowops-promoter", account)
    bind(kube, ns(staging), "flowops-viewer", account)
    return ci, account, bot


@pytest.mark.parametrize("right", sorted(ACTING_AS))
def test_an_approver_who_can_act_as_the_requesting_service_account_cannot_approve(kube, kube_as, chain, right):
    """One person, two names: an approver who may impersonate a ServiceAccount, mint or read
    its tokens, reach into a pod running as it, or run a pod as it (create or change pods, or
    a workload whose controller creates them, in its namespace) requests as it, then approves."""
    _, staging, prod = chain
    route = ACTING_AS[right]
    bot_name = f"bot-{right}"[:63]
    ci, _, bot = _ci_bot(kube, staging, prod, bot_name)
    pname = bot_name
    bot.create(PROMOTIONS, reviewed(pname, staging), ns(prod))

    # Without any way to act as the bot, the approver is a second person (and the policies'
    # checks, all asked then, fit the API server's cost budget).
    kube_as("approver").merge_patch(PROMOTIONS, pname, {"spec": {"approved": True}}, ns(prod), dry_run=True)
    grant(kube, ci, "dave-approver", _rule(route))
    path = route.resource + (f"/{bot_name}" if route.named else "") + (f"/{route.subresource}" if route.subresource else "")
    refused(
        lambda: kube_as("approver").merge_patch(PROMOTIONS, pname, {"spec": {"approved": True}}, ns(prod)),
        f"separation of duties in environment {name(prod)}: ServiceAccount {ci}/{bot_name} requested this Promotion",
        "dave-approver can act as it: it may ",
        route.verb,
        path if route.subresource or route.named else f"{route.resource} ",
        f"in namespace {ci} ({route.how}",
        f"Remove that right from dave-approver in namespace {ci}",
    )
    spec = kube.get(PROMOTIONS, pname, ns(prod))["spec"]
    assert spec["approved"] is False and "approvedBy" not in spec


def _person(cluster: Any, username: str, group: str) -> Kube:
    """A client for a person only this test knows (the admin impersonating them): rights
    granted to them change no other test."""
    client = Kube.from_kubeconfig(str(cluster.kubeconfig), "flowops-admin")
    client.api.set_default_header("Impersonate-User", username)
    client.api.set_default_header("Impersonate-Group", group)
    return client


IMPERSONATE = {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}


def test_impersonation_joins_requester_and_approver_either_way(kube, cluster, chain):
    """An approver who may impersonate the person who requested could have requested alone;
    a ServiceAccount that requested and may impersonate the approver could have approved alone.
    (The constrained verbs, impersonate:user-info and impersonate:serviceaccount, count the same.)"""
    _, staging, prod = chain
    suffix = uuid.uuid4().hex[:6]
    gina, frank = f"gina-{suffix}", f"frank-{suffix}"
    bind(kube, ns(staging), "flowops-viewer", gina)
    requester, approver = _person(cluster, gina, "flowops:promoters"), _person(cluster, frank, "flowops:approvers")
    approve = {"spec": {"approved": True}}
    requester.create(PROMOTIONS, reviewed("by-gina", staging), ns(prod))
    approver.merge_patch(PROMOTIONS, "by-gina", approve, ns(prod), dry_run=True)
    grant_cluster(kube, frank, {**IMPERSONATE, "verbs": ["impersonate:user-info"], "resourceNames": [gina]})
    refused(
        lambda: approver.merge_patch(PROMOTIONS, "by-gina", approve, ns(prod)),
        f"separation of duties in environment {name(prod)}: {gina} requested this Promotion, and {frank} may impersonate them",
        f"(impersonate or impersonate:user-info users/{gina}), so could have requested it alone",
        f"Remove that right from {frank}",
    )
    spec = kube.get(PROMOTIONS, "by-gina", ns(prod))["spec"]
    assert spec["approved"] is False and "approvedBy" not in spec

    ci, account, bot = _ci_bot(kube, staging, prod, "release-bot")
    bot.create(PROMOTIONS, reviewed("by-bot", staging), ns(prod))
    approver.merge_patch(PROMOTIONS, "by-bot", approve, ns(prod), dry_run=True)
    grant_cluster(kube, account, {**IMPERSONATE, "resourceNames": [frank]})
    refused(
        lambda: approver.merge_patch(PROMOTIONS, "by-bot", approve, ns(prod)),
        f"separation of duties in environment {name(prod)}: ServiceAccount {ci}/release-bot requested this Promotion "
        f"and may impersonate {frank} (impersonate or impersonate:user-info users/{frank}), so this approval may be its own",
        "Remove that right from the ServiceAccount",
    )
    spec = kube.get(PROMOTIONS, "by-bot", ns(prod))["spec"]
    assert spec["approved"] is False and "approvedBy" not in spec


@pytest.mark.parametrize(
    ("listed", "words"),
    [
        ("system:serviceaccount:flux-system:kustomize-controller", "is a GitOps controller's own identity"),
        ("system:serviceaccount:argocd:argocd-application-controller", "is a GitOps controller's own identity"),
        (
            "system:serviceaccount:openshift-gitops:openshift-gitops-argocd-application-controller",
            "is a GitOps controller's own identity",
        ),
        ("dave-approver", "is not a ServiceAccount"),
        ("system:serviceaccounts:flux-system", "is not a ServiceAccount"),
    ],
)
def test_a_gitops_approver_is_one_syncs_own_service_account(kube, chain, listed, words):
    """A controller's own identity applies every tenant's sync, and a person would approve
    alone: neither may stand for a reviewed pull request, however the Environment is written."""
    _, staging, prod = chain
    approvers = [FLUX, listed]
    field = "spec.policy.promotion.gitopsApprovers[1]"
    promotion_policy = {"promotion": {"gitopsApprovers": approvers}}
    refused(lambda: kube.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"policy": promotion_policy}}), field, words)
    refused(
        lambda: kube.json_patch(
            ENVIRONMENTS, name(prod), [{"op": "add", "path": "/spec/policy/promotion/gitopsApprovers/-", "value": listed}]
        ),
        field,
        words,
    )
    applied_env = {
        "apiVersion": ENVIRONMENTS.api_version,
        "kind": "Environment",
        "metadata": {"name": name(prod)},
        "spec": {"policy": promotion_policy},
    }
    refused(lambda: kube.apply(ENVIRONMENTS, name(prod), applied_env, field_manager="platform-team", force=True), field, words)
    assert kube.get(ENVIRONMENTS, name(prod))["spec"]["policy"]["promotion"]["gitopsApprovers"] == [FLUX]

    fresh = f"atk-prod-{uuid.uuid4().hex[:6]}"
    body = {
        "apiVersion": ENVIRONMENTS.api_version,
        "kind": "Environment",
        "metadata": {"name": fresh},
        "spec": {"namespace": f"ns-{fresh}", "tier": "Production", "upstream": name(staging), "policy": promotion_policy},
    }
    refused(lambda: kube.create(ENVIRONMENTS, body), field, words)
    assert kube.get_or_none(ENVIRONMENTS, fresh) is None


def test_a_gitops_approver_lives_outside_every_environments_namespace(kube, chain):
    """In an environment's namespace the built-in edit role may create pods and impersonate
    ServiceAccounts: an approver living there would approve for whoever edits there (Argo
    CD puts its destination ServiceAccount in the destination namespace by default)."""
    _, staging, prod = chain
    own = f"system:serviceaccount:{ns(prod)}:argocd-sync"
    refused(
        lambda: kube.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"policy": {"promotion": {"gitopsApprovers": [FLUX, own]}}}}),
        f"spec.policy.promotion.gitopsApprovers: {own} is a ServiceAccount in the environment's own namespace {ns(prod)}",
        "the built-in edit role",
    )
    neighbour = f"system:serviceaccount:{ns(staging)}:argocd-sync"
    refused(
        lambda: kube.merge_patch(
            ENVIRONMENTS, name(prod), {"spec": {"policy": {"promotion": {"gitopsApprovers": [FLUX, neighbour]}}}}
        ),
        f"{neighbour} is a ServiceAccount in namespace {ns(staging)} of Environment {name(staging)}",
        "flux-system, argocd",
    )
    assert kube.get(ENVIRONMENTS, name(prod))["spec"]["policy"]["promotion"]["gitopsApprovers"] == [FLUX]

    # The other way round: a new Environment may not claim the namespace a listed approver lives in.
    parked = f"atk-parked-{uuid.uuid4().hex[:6]}"
    elsewhere = environment(
        kube,
        "Production",
        upstream=name(staging),
        policy={"promotion": {"gitopsApprovers": [f"system:serviceaccount:{parked}:sync"]}},
    )
    claim = {
        "apiVersion": ENVIRONMENTS.api_version,
        "kind": "Environment",
        "metadata": {"name": parked},
        "spec": {"namespace": parked, "tier": "Development"},
    }
    refused(
        lambda: kube.create(ENVIRONMENTS, claim),
        f"namespace {parked} holds system:serviceaccount:{parked}:sync, a GitOps approver of Environment {name(elsewhere)}",
    )
    assert kube.get_or_none(ENVIRONMENTS, parked) is None


def test_an_approver_stored_before_the_rules_approves_nothing_at_admission(kube, kube_as, cluster, chain):
    """An Environment stored under an older CRD can still list a person as a GitOps approver
    (validation ratchets: an unchanged entry stays). Admission must not let that person
    approve alone, while the operator is down as much as while it runs."""
    _, staging, _ = chain
    prod = environment(kube, "Production", upstream=name(staging), policy={"promotion": {"gitopsApprovers": [FLUX]}})
    bind(kube, ns(prod), "flowops-promoter", FLUX)  # it reads staging by the module's binding

    def by_the_sync():
        return kube_as("gitops").create(PROMOTIONS, reviewed("probe", staging, approved=True), ns(prod), dry_run=True)

    wait_until_admitted(by_the_sync)
    # What an older CRD let be stored: a person where the sync's ServiceAccount belongs.
    cluster.etcd_rewrite(
        f"/registry/flowops.io/environments/{name(prod)}",
        lambda stored: stored["spec"]["policy"]["promotion"].update(gitopsApprovers=["bob-promoter"]),
    )
    assert kube.get(ENVIRONMENTS, name(prod))["spec"]["policy"]["promotion"]["gitopsApprovers"] == ["bob-promoter"]
    # Barrier: admission now reads the rewritten Environment (the sync no longer approves).
    wait_until_refused(by_the_sync, "may not approve Promotions")

    refused(
        lambda: kube_as("promoter").create(PROMOTIONS, reviewed("alone", staging, approved=True), ns(prod)),
        "bob-promoter may not approve Promotions",
        "approve permission",
    )
    assert kube.get_or_none(PROMOTIONS, "alone", ns(prod)) is None


def test_the_configmaps_production_workloads_mount_are_the_operators(kube, kube_as, chain):
    """ConfigMap rights in a namespace (the built-in edit role grants them) must not change
    what production's workloads mount as a promoted flow."""
    _, _, prod = chain
    kube.create(
        ROLES,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "configmaps"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create", "update", "patch", "delete"]}
            ],
        },
        ns(prod),
    )
    kube.create(
        ROLEBINDINGS,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "erin-cm"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmaps"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "erin-scoped"}],
        },
        ns(prod),
    )
    erin = kube_as("scoped")
    # An unrelated ConfigMap is erin's to write (and proves RBAC grants it by now).
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {}}
    wait_until_admitted(lambda: erin.create(CONFIGMAPS, settings, ns(prod), dry_run=True))
    erin.create(CONFIGMAPS, settings, ns(prod))
    words = (f"environment {name(prod)} is protected: ConfigMap", "written only by the flowops operator", "Promotion")
    gone = {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "00000000-0000-0000-0000-000000000000"}
    for attack in (
        lambda: erin.merge_patch(CONFIGMAPS, "shop-flow", {"data": {"flow.json": '{"title":"never promoted"}'}}, ns(prod)),
        lambda: erin.json_patch(
            CONFIGMAPS, "shop-flow", [{"op": "add", "path": "/metadata/ownerReferences", "value": [gone]}], ns(prod)
        ),
        lambda: erin.delete(CONFIGMAPS, "shop-flow", ns(prod)),
        # Squatting the name an ApiClient's ConfigMap will have.
        lambda: erin.create(
            CONFIGMAPS,
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-flow"}, "data": {"flow.json": "{}"}},
            ns(prod),
        ),
    ):
        refused(attack, *words)
    refused(
        lambda: kube.request("DELETE", CONFIGMAPS.path(ns(prod)), query={"labelSelector": "flowops.io/materialised=true"}), *words
    )
    cm = kube.get(CONFIGMAPS, "shop-flow", ns(prod))
    assert cm["data"] == {"flow.json": '{"title":"v1"}'} and not cm["metadata"].get("ownerReferences")
    assert kube.get_or_none(CONFIGMAPS, "web-flow", ns(prod)) is None


# -- already refused: every way of writing ------------------------------------------------------


def test_configmaps_outside_protected_environments_stay_deletable_by_collection(kube, chain):
    dev, _, _ = chain
    for cm_name in ("a-flow", "settings"):
        kube.create(
            CONFIGMAPS,
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm_name, "labels": {"batch": "1"}}},
            ns(dev),
        )
    kube.request("DELETE", CONFIGMAPS.path(ns(dev)), query={"labelSelector": "batch=1"})
    assert not kube.list(CONFIGMAPS, ns(dev), label_selector="batch=1")


def test_approving_without_the_permission_is_refused_whatever_the_kind_of_write(kube, kube_as, chain):
    _, staging, prod = chain
    bob = kube_as("promoter")
    bob.create(PROMOTIONS, reviewed("writes", staging), ns(prod))

    def put() -> dict:
        current = bob.get(PROMOTIONS, "writes", ns(prod))
        return bob.replace(PROMOTIONS, "writes", {**current, "spec": {**current["spec"], "approved": True}}, ns(prod))

    for attack in (
        lambda: bob.merge_patch(PROMOTIONS, "writes", {"spec": {"approved": True}}, ns(prod)),
        lambda: bob.json_patch(PROMOTIONS, "writes", [{"op": "replace", "path": "/spec/approved", "value": True}], ns(prod)),
        put,
        lambda: bob.apply(
            PROMOTIONS, "writes", applied(reviewed("writes", staging, approved=True), ns(prod)), ns(prod), field_manager="bob"
        ),
    ):
        refused(attack, "bob-promoter may not approve Promotions", "flowops-approver")
    # The approve permission counts in its own namespace only: erin may promote into production
    # and approve in staging, which does not make her an approver of production.
    bind(kube, ns(prod), "flowops-promoter", "erin-scoped")
    bind(kube, ns(staging), "flowops-approver", "erin-scoped")
    refused(
        lambda: kube_as("scoped").merge_patch(PROMOTIONS, "writes", {"spec": {"approved": True}}, ns(prod)),
        f"erin-scoped may not approve Promotions in namespace {ns(prod)}",
    )
    # The status subresource is the operator's: neither the promoter nor the approver writes it.
    for user in ("promoter", "approver"):
        refused(
            lambda u=user: kube_as(u).merge_patch(
                PROMOTIONS,
                "writes",
                {"spec": {"approved": True}, "status": {"phase": "Succeeded"}},
                ns(prod),
                subresource="status",
            ),
            "promotions/status",
        )
    after = kube.get(PROMOTIONS, "writes", ns(prod))
    # A running operator may have failed it on its own account (its source flow is not in
    # staging); what the attacks wrote must be absent.
    assert after["spec"]["approved"] is False and "approvedBy" not in after["spec"]
    assert after["status"].get("phase") != "Succeeded"


def replace_status_of_current(client: Kube, reader: Kube, pname: str, namespace: str, status: dict) -> None:
    """A status PUT over the Promotion as it is now: a session's operator may be writing it
    too, and a stale resourceVersion would be refused for that (409) before admission."""
    for _ in range(10):
        current = reader.get(PROMOTIONS, pname, namespace)["metadata"]["resourceVersion"]
        try:
            client.replace_status(PROMOTIONS, pname, status, namespace, current)
            return
        except Conflict:
            continue
    raise AssertionError(f"Promotion {pname} kept changing")


def test_promotion_and_environment_status_are_the_operators_even_for_an_admin(kube, kube_as, chain):
    """A Promotion's status names the version it is shipping, and later attempts follow it: a
    forged claim would ship, under an approval of version 1, a version nobody reviewed. An
    Environment's names the rules its flows were judged by. Neither is granted to anyone by
    the shipped roles; a custom role on promotions/status, or an admin, is refused too."""
    _, staging, prod = chain
    kube_as("promoter").create(PROMOTIONS, reviewed("claimed", staging), ns(prod))
    grant(kube, ns(prod), "erin-scoped", {"apiGroups": ["flowops.io"], "resources": ["promotions/status"], "verbs": ["*"]})
    forged = {"phase": "Running", "sourceVersion": "20260101000000000007", "message": "forged"}
    words = ("the status of Promotion claimed is written only by the flowops operator", "create a new Promotion")
    for client in (kube_as("scoped"), kube):
        refused(lambda c=client: c.merge_patch(PROMOTIONS, "claimed", {"status": forged}, ns(prod), subresource="status"), *words)
        refused(
            lambda c=client: c.json_patch(
                PROMOTIONS,
                "claimed",
                [{"op": "add", "path": "/status/sourceVersion", "value": forged["sourceVersion"]}],
                ns(prod),
                subresource="status",
            ),
            *words,
        )
        refused(lambda c=client: replace_status_of_current(c, kube, "claimed", ns(prod), forged), *words)
    # A session's operator may decide the Promotion meanwhile; what the attacks wrote must be absent.
    after = kube.get(PROMOTIONS, "claimed", ns(prod))["status"]
    assert after.get("sourceVersion") != forged["sourceVersion"] and after.get("message") != "forged", after

    refused(
        lambda: kube.merge_patch(ENVIRONMENTS, name(prod), {"status": {"guardrailsDigest": "forged"}}, subresource="status"),
        f"the status of Environment {name(prod)} is written only by the flowops operator",
        "change its spec instead",
    )
    assert (kube.get(ENVIRONMENTS, name(prod)).get("status") or {}).get("guardrailsDigest") != "forged"


def test_a_promotion_cannot_be_changed_after_its_review_began(kube, kube_as, chain):
    _, staging, prod = chain
    bob = kube_as("promoter")
    bob.create(
        PROMOTIONS,
        {**reviewed("fixed", staging, comment="as reviewed"), "status": {"phase": "Succeeded", "message": "forged"}},
        ns(prod),
    )
    assert kube.get(PROMOTIONS, "fixed", ns(prod))["status"] == {"observedGeneration": 0}  # status sent on create is dropped
    for ops, words in (
        ([{"op": "replace", "path": "/spec/source/version", "value": "2"}], "spec.source is immutable"),
        ([{"op": "add", "path": "/spec/target", "value": {"flow": "other"}}], "spec.target is immutable"),
        ([{"op": "add", "path": "/spec/changes", "value": {"exclude": ["/title"]}}], "spec.changes is immutable"),
        ([{"op": "replace", "path": "/spec/review", "value": False}], "spec.review are immutable"),
        ([{"op": "replace", "path": "/spec/comment", "value": "something else"}], "spec.comment is immutable"),
        ([{"op": "replace", "path": "/spec/requestedBy/username", "value": "dave-approver"}], "spec.requestedBy is recorded"),
        ([{"op": "remove", "path": "/spec/requestedBy"}], "spec.requestedBy is recorded"),
    ):
        refused(lambda o=ops: bob.json_patch(PROMOTIONS, "fixed", o, ns(prod)), words)
    spec = kube.get(PROMOTIONS, "fixed", ns(prod))["spec"]
    assert (
        (spec["source"]["version"], spec["review"], spec["comment"], spec["requestedBy"]["username"])
        == ("1", True, "as reviewed", "bob-promoter")
        and "target" not in spec
        and "changes" not in spec
    )


def test_a_copy_within_production_needs_review_and_a_second_person(kube, kube_as, chain):
    _, _, prod = chain
    bob = kube_as("promoter")
    copy = promotion("copy", name(prod), "served", "1", target={"flow": "standard"})
    refused(lambda: bob.create(PROMOTIONS, copy, ns(prod)), f"environment {name(prod)} requires review")
    assert kube.get_or_none(PROMOTIONS, "copy", ns(prod)) is None
    bob.create(PROMOTIONS, {**copy, "spec": {**copy["spec"], "review": True}}, ns(prod))
    refused(lambda: bob.merge_patch(PROMOTIONS, "copy", {"spec": {"approved": True}}, ns(prod)), "may not approve Promotions")
    assert kube.get(PROMOTIONS, "copy", ns(prod))["spec"]["approved"] is False


def test_protected_flows_and_versions_resist_every_write(kube, kube_as, chain):
    _, _, prod = chain
    admin = kube  # cluster admin: RBAC allows everything, only the policies refuse
    protected = f"environment {name(prod)} is protected"
    for attack in (
        lambda: admin.merge_patch(FLOWS, "served", {"metadata": {"finalizers": ["example.com/hold"]}}, ns(prod)),
        lambda: admin.merge_patch(
            FLOWS,
            "served",
            {
                "metadata": {
                    "ownerReferences": [
                        {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "00000000-0000-0000-0000-000000000000"}
                    ]
                }
            },
            ns(prod),
        ),
        lambda: admin.json_patch(
            FLOWS, "served", [{"op": "replace", "path": "/spec/content", "value": {"title": "hot"}}], ns(prod)
        ),
        lambda: admin.apply(
            FLOWS, "served", applied(flow("served", {"title": "hot"}), ns(prod)), ns(prod), field_manager="hotfix"
        ),
    ):
        refused(attack, protected)
    # A delete collection is judged object by object, and named.
    refused(lambda: admin.request("DELETE", FLOWS.path(ns(prod))), protected, "kubectl flowops promote served")
    served = kube.get(FLOWS, "served", ns(prod))
    assert served["spec"]["content"] == {"title": "v1"} and not served["metadata"].get("finalizers")
    assert not served["metadata"].get("ownerReferences")
    refused(lambda: admin.request("DELETE", FLOWVERSIONS.path(ns(prod))), "FlowVersions are immutable history")
    refused(
        lambda: admin.merge_patch(FLOWVERSIONS, "served-00001", {"status": {"ready": True}}, ns(prod)),
        "FlowVersions are immutable history",
    )
    assert kube.get(FLOWVERSIONS, "served-00001", ns(prod))["metadata"].get("deletionTimestamp") is None


def test_protection_is_not_dropped_in_one_request(kube, chain):
    _, staging, _ = chain
    prod = environment(kube, "Production", upstream=name(staging))
    allow = {"flowops.io/deletion-allowed": "true"}
    for patch in (
        {"metadata": {"annotations": allow}, "spec": {"tier": "Staging", "upstream": None}},
        {"metadata": {"annotations": allow}, "spec": {"tier": "Development", "upstream": None}},
    ):
        refused(
            lambda p=patch: kube.merge_patch(ENVIRONMENTS, name(prod), p), f"Environment {name(prod)} is protected: this change"
        )
    after = kube.get(ENVIRONMENTS, name(prod))
    assert after["spec"]["tier"] == "Production" and "flowops.io/deletion-allowed" not in (
        after["metadata"].get("annotations") or {}
    )
    labelled = kube.merge_patch(ENVIRONMENTS, name(prod), {"metadata": {"labels": {"attack": name(prod)}}})
    assert labelled["metadata"]["labels"]["attack"] == name(prod)
    refused(
        lambda: kube.request("DELETE", ENVIRONMENTS.path(), query={"labelSelector": f"attack={name(prod)}"}),
        f"Environment {name(prod)} is protected",
    )
    assert kube.get(ENVIRONMENTS, name(prod))["metadata"].get("deletionTimestamp") is None


# -- the operator's own check, should admission be bypassed ----------------------------------------


@contextmanager
def _promotion_policies_unbound(cluster: Any, bindings: tuple[str, ...], probe: Callable[[], Any], words: str) -> Iterator[None]:
    """The promotion policies' bindings removed (a bad upgrade, a race) for the block: `probe`
    is admitted inside it and refused with `words` again once they are re-applied."""
    cluster.kubectl("delete", "validatingadmissionpolicybinding", *bindings)
    try:
        wait_until_admitted(probe)
        yield
    finally:
        cluster.kubectl("apply", "--server-side", "-f", str(install.MANIFESTS / "policy" / "promotions.yaml"))
        wait_until_refused(probe, words)


def _chain_promoted_to_staging(kube: Kube, make_environment: Callable[..., dict]) -> tuple[dict, dict]:
    """Staging and production of a fresh chain, staging holding version 1 of "standard"."""
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), policy={"promotion": {"requireReview": False}})
    prod = make_environment("Production", upstream=name(staging))
    kube.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.create(PROMOTIONS, promotion("to-staging", name(dev), "standard", "1"), ns(staging))
    assert wait_for_phase(kube, ns(staging), "to-staging")["phase"] == "Succeeded"
    return staging, prod


def test_the_operator_refuses_an_approval_without_the_approve_permission(
    kube, kube_as, cluster, running_operator, make_environment
):
    """The approval policies removed (a bad upgrade, a race): somebody who may update
    Promotions but not approve them approves, and the operator still writes nothing."""
    staging, prod = _chain_promoted_to_staging(kube, make_environment)
    kube_as("promoter").create(PROMOTIONS, reviewed("to-prod", staging), ns(prod))
    wait_for_phase(kube, ns(prod), "to-prod", ("AwaitingApproval",))
    bind(kube, ns(prod), "flowops-promoter", "erin-scoped")  # may update Promotions there, not approve them
    erin = kube_as("scoped")
    probe = lambda: erin.create(PROMOTIONS, reviewed("probe", staging, approved=True), ns(prod), dry_run=True)  # noqa: E731
    with _promotion_policies_unbound(
        cluster, ("flowops-promotion-rules", "flowops-promotion-identity"), probe, "may not approve"
    ):
        erin.merge_patch(PROMOTIONS, "to-prod", {"spec": {"approved": True}}, ns(prod))
    assert kube.get(PROMOTIONS, "to-prod", ns(prod))["spec"]["approvedBy"]["username"] == "erin-scoped"
    failed = wait_for_phase(kube, ns(prod), "to-prod")
    assert failed["phase"] == "Failed", failed
    assert "erin-scoped may not approve Promotions in environment " + name(prod) in failed["message"], failed
    assert kube.get_or_none(FLOWS, "standard", ns(prod)) is None


@pytest.mark.parametrize(
    ("right", "policy"),
    [
        ("impersonate-serviceaccounts", "flowops-promotion-rules"),
        ("create-pods-exec", "flowops-promotion-rules"),
        ("patch-deployments", "flowops-promotion-separation"),
    ],
)
def test_the_operator_refuses_an_approval_by_one_who_can_act_as_the_requesting_service_account(
    kube, kube_as, cluster, running_operator, make_environment, right, policy
):
    """The policy that asks the route removed: an approver who may act as the ServiceAccount
    that requested approves, and the operator, asking the API server itself, writes nothing."""
    staging, prod = _chain_promoted_to_staging(kube, make_environment)
    ci, account, bot = _ci_bot(kube, staging, prod, "release-bot")
    bind(kube, ns(prod), "flowops-approver", "dave-approver")
    grant(kube, ci, "dave-approver", _rule(ACTING_AS[right]))
    for pname in ("to-prod", "probe"):
        bot.create(PROMOTIONS, reviewed(pname, staging), ns(prod))
    wait_for_phase(kube, ns(prod), "to-prod", ("AwaitingApproval",))
    dave = kube_as("approver")
    approve = {"spec": {"approved": True}}
    probe = lambda: dave.merge_patch(PROMOTIONS, "probe", approve, ns(prod), dry_run=True)  # noqa: E731
    with _promotion_policies_unbound(cluster, (policy,), probe, "can act as it"):
        dave.merge_patch(PROMOTIONS, "to-prod", approve, ns(prod))
    assert kube.get(PROMOTIONS, "to-prod", ns(prod))["spec"]["approvedBy"]["username"] == "dave-approver"
    failed = wait_for_phase(kube, ns(prod), "to-prod")
    assert failed["phase"] == "Failed", failed
    words = ACTING_AS[right].words(ci, "release-bot")
    assert (
        f"dave-approver can act as ServiceAccount {account}, which requested this Promotion (dave-approver may {words}"
        in failed["message"]
    ), failed
    assert kube.get_or_none(FLOWS, "standard", ns(prod)) is None


def test_the_operator_refuses_an_approval_by_one_the_requesting_person_may_impersonate(
    kube, cluster, running_operator, make_environment
):
    """CEL's authorizer asks nothing about a person who is not making the request: a requester
    who may impersonate the approver gets the approval admitted, and only the operator, asking
    the API server about the requester, refuses it."""
    staging, prod = _chain_promoted_to_staging(kube, make_environment)
    suffix = uuid.uuid4().hex[:6]
    gina, frank = f"gina-{suffix}", f"frank-{suffix}"
    bind(kube, ns(staging), "flowops-viewer", gina)
    _person(cluster, gina, "flowops:promoters").create(PROMOTIONS, reviewed("to-prod", staging), ns(prod))
    wait_for_phase(kube, ns(prod), "to-prod", ("AwaitingApproval",))
    grant_cluster(kube, gina, {**IMPERSONATE, "resourceNames": [frank]})
    _person(cluster, frank, "flowops:approvers").merge_patch(PROMOTIONS, "to-prod", {"spec": {"approved": True}}, ns(prod))
    failed = wait_for_phase(kube, ns(prod), "to-prod")
    assert failed["phase"] == "Failed", failed
    assert (
        f"{gina}, who requested this Promotion, can act as {frank}, who approved it ({gina} may impersonate users/{frank}: "
        "impersonate them), so the approval may be the requester's own" in failed["message"]
    ), failed
    assert f"Remove that right from {gina}" in failed["message"], failed
    assert kube.get_or_none(FLOWS, "standard", ns(prod)) is None
