"""Governance end to end with the operator: the allowed paths land (a second person's
approval, rollback and copy in production, a GitOps approval), admission refuses while the
operator is stopped, and a rival Environment on a claimed namespace never takes over, not
even after an operator restart."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest

from flowops.devcluster import install
from flowops.kube import APICLIENTS, APPLICATIONS, CONFIGMAPS, ENVIRONMENTS, FLOWS, FLOWVERSIONS, PROMOTIONS, ApiError, Kube
from flowops.testing import argocd, kstatus
from flowops.testing.admission import bind, wait_until_admitted, wait_until_governed
from flowops.testing.objects import barrier, flow, flow_status, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for

FLUX = "system:serviceaccount:flux-system:flowops-applier"


def ns(env: dict) -> str:
    return env["spec"]["namespace"]


def name(env: dict) -> str:
    return env["metadata"]["name"]


def chain(make_environment: Callable[..., dict], **prod_policy: Any) -> tuple[dict, dict, dict]:
    """The shipped defaults: staging promotes from development now; production only from
    staging, reviewed and approved by a second person, pinned versions."""
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), policy={"promotion": {"requireReview": False}})
    prod = make_environment(
        "Production", upstream=name(staging), **({"policy": {"promotion": prod_policy}} if prod_policy else {})
    )
    return dev, staging, prod


def landed(kube: Kube, env: dict, pname: str) -> dict:
    result = wait_for_phase(kube, ns(env), pname)
    assert result["phase"] == "Succeeded", result
    return result


def test_production_changes_by_review_and_a_second_persons_approval(kube, kube_as, running_operator, make_environment, operator):
    dev, staging, prod = chain(make_environment)
    editor, promoter, approver = kube_as("editor"), kube_as("promoter"), kube_as("approver")
    editor.create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    promoter.create(PROMOTIONS, promotion("to-staging", name(dev), "standard", "1"), ns(staging))
    landed(kube, staging, "to-staging")

    # Review: the plan waits, nothing is written until a second person approves.
    promoter.create(PROMOTIONS, promotion("to-prod", name(staging), "standard", "1", review=True), ns(prod))
    wait_for_phase(kube, ns(prod), "to-prod", ("AwaitingApproval",))
    assert kube.get_or_none(FLOWS, "standard", ns(prod)) is None
    approver.merge_patch(PROMOTIONS, "to-prod", {"spec": {"approved": True}}, ns(prod))
    first = landed(kube, prod, "to-prod")
    assert kube.get(FLOWS, "standard", ns(prod))["spec"]["content"] == {"title": "v1"}
    spec = kube.get(PROMOTIONS, "to-prod", ns(prod))["spec"]
    assert (spec["requestedBy"]["username"], spec["approvedBy"]["username"], spec["approvedBy"]["via"]) == (
        "bob-promoter",
        "dave-approver",
        "Cluster",
    )

    editor.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
    wait_for_number(kube, ns(dev), "standard", 2)
    promoter.create(PROMOTIONS, promotion("to-staging-2", name(dev), "standard", "2"), ns(staging))
    landed(kube, staging, "to-staging-2")
    promoter.create(PROMOTIONS, promotion("to-prod-2", name(staging), "standard", "2", review=True), ns(prod))
    wait_for_phase(kube, ns(prod), "to-prod-2", ("AwaitingApproval",))
    approver.merge_patch(PROMOTIONS, "to-prod-2", {"spec": {"approved": True}}, ns(prod))
    landed(kube, prod, "to-prod-2")
    assert kube.get(FLOWS, "standard", ns(prod))["spec"]["content"] == {"title": "v2"}

    # Rollback in production, and a copy under a new name: from production itself, reviewed too.
    promoter.create(PROMOTIONS, promotion("rollback", name(prod), "standard", first["targetVersion"], review=True), ns(prod))
    promoter.create(
        PROMOTIONS,
        promotion("copy", name(prod), "standard", first["targetVersion"], review=True, target={"flow": "standard-v1"}),
        ns(prod),
    )
    for pname in ("rollback", "copy"):
        wait_for_phase(kube, ns(prod), pname, ("AwaitingApproval",))
        approver.merge_patch(PROMOTIONS, pname, {"spec": {"approved": True}}, ns(prod))
        landed(kube, prod, pname)
    assert kube.get(FLOWS, "standard", ns(prod))["spec"]["content"] == {"title": "v1"}
    assert kube.get(FLOWS, "standard-v1", ns(prod))["spec"]["content"] == {"title": "v1"}

    # With the operator stopped, the API server still refuses: skipping a stage, promote-now.
    operator.stop()
    try:
        for body, words in (
            (promotion("skip", name(dev), "standard", "2", review=True), "accepts promotions only from"),
            (promotion("now", name(staging), "standard", "2"), "requires review"),
        ):
            with pytest.raises(ApiError) as denied:
                promoter.create(PROMOTIONS, body, ns(prod))
            assert words in denied.value.message
            assert kube.get_or_none(PROMOTIONS, body["metadata"]["name"], ns(prod)) is None
    finally:
        operator.start()


def promote_to_production(
    kube: Kube, kube_as: Callable[[str], Kube], staging: dict, prod: dict, number: int, flow_name: str = "standard"
) -> str:
    """Version `number` of a staging flow into production, requested and approved by two people."""
    pname = f"to-prod-{number}" if flow_name == "standard" else f"{flow_name}-to-prod-{number}"
    kube_as("promoter").create(PROMOTIONS, promotion(pname, name(staging), flow_name, str(number), review=True), ns(prod))
    wait_for_phase(kube, ns(prod), pname, ("AwaitingApproval",))
    kube_as("approver").merge_patch(PROMOTIONS, pname, {"spec": {"approved": True}}, ns(prod))
    return str(landed(kube, prod, pname)["targetVersion"])


def staging_with_two_versions(kube: Kube, kube_as: Callable[[str], Kube], make_environment: Callable[..., dict]):
    """Versions 1 and 2 of standard in staging; production reviewed, without the flow yet."""
    dev, staging, prod = chain(make_environment, requireReview=True)
    for number in (1, 2):
        if number == 1:
            kube_as("editor").create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
        else:
            kube_as("editor").merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, ns(dev))
        wait_for_number(kube, ns(dev), "standard", number)
        kube_as("promoter").create(PROMOTIONS, promotion(f"to-staging-{number}", name(dev), "standard", str(number)), ns(staging))
        landed(kube, staging, f"to-staging-{number}")
    return staging, prod


def production_with_two_versions(kube: Kube, kube_as: Callable[[str], Kube], make_environment: Callable[..., dict]):
    """Versions 1 and 2 of standard in staging; version 1 in production, each step approved."""
    staging, prod = staging_with_two_versions(kube, kube_as, make_environment)
    return staging, prod, promote_to_production(kube, kube_as, staging, prod, 1)


def test_serving_an_older_production_version_needs_an_approver(kube, kube_as, running_operator, make_environment):
    """Every production version was approved once; which one a client serves is a production
    change too. Forward to HEAD a promoter may move it; back, only an approver (or a reviewed
    rollback Promotion): otherwise one person alone would roll production back."""
    staging, prod, v1 = production_with_two_versions(kube, kube_as, make_environment)
    promoter = kube_as("promoter")
    client = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "ApiClient",
        "metadata": {"name": "web"},
        "spec": {"defaultFlow": {"name": "standard", "version": "1"}},
    }
    promoter.create(APICLIENTS, client, ns(prod))
    wait_for(lambda: served(kube, prod, "web") == v1, message="web serving version 1 (HEAD when it was pinned)")
    v2 = promote_to_production(kube, kube_as, staging, prod, 2)
    promoter.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"version": "2"}}}, ns(prod))
    wait_for(lambda: served(kube, prod, "web") == v2, message="web moved forward to HEAD by the promoter")

    promoter.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"version": "1"}}}, ns(prod))
    refused = wait_for(
        lambda: (s := resolved_condition(kube, prod, "web")).get("reason") == "ApprovalRequired" and s,
        message="the promoter's rollback refused",
    )
    assert "bob-promoter, who set it on ApiClient web, may not approve Promotions here" in refused["message"]
    assert served(kube, prod, "web") == v2, "what it served stays"
    # Someone who may approve (here the cluster admin) touching the object's metadata approves nothing.
    kube.merge_patch(APICLIENTS, "web", {"metadata": {"labels": {"seen": "yes"}}}, ns(prod))
    barrier(kube, APICLIENTS, ns(prod), "web")
    assert resolved_condition(kube, prod, "web").get("reason") == "ApprovalRequired" and served(kube, prod, "web") == v2
    annotations = kube.get(APICLIENTS, "web", ns(prod))["metadata"]["annotations"]
    assert (annotations["flowops.io/changed-by"], annotations["flowops.io/changed-by-approver"]) == ("bob-promoter", "false")

    kube.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"version": v1}}}, ns(prod))  # version 1 by its id
    wait_for(lambda: served(kube, prod, "web") == v1, message="the rollback by one who may approve served")


def test_an_applications_old_pin_needs_an_approvers_hand_on_every_spec_it_comes_through(
    kube, kube_as, running_operator, make_environment
):
    staging, prod, v1 = production_with_two_versions(kube, kube_as, make_environment)
    v2 = promote_to_production(kube, kube_as, staging, prod, 2)
    promoter = kube_as("promoter")
    # One who may approve (the cluster admin) pins the Application to version 1, and a client on it.
    kube.create(APPLICATIONS, application_body("shop", "1"), ns(prod))
    kube.create(APICLIENTS, client_body("c1", application="shop"), ns(prod))
    wait_for(lambda: served(kube, prod, "c1") == v1, message="c1 on the approver's pin")
    # A promoter's new client joining it is a change of what that client serves.
    promoter.create(APICLIENTS, client_body("c2", application="shop"), ns(prod))
    refused = wait_for(
        lambda: (c := resolved_condition(kube, prod, "c2")).get("reason") == "ApprovalRequired" and c, message="c2 refused"
    )
    assert "bob-promoter, who set it on ApiClient c2" in refused["message"] and served(kube, prod, "c2") is None
    # Forward to HEAD, anyone allowed to change bindings; back, only through an approver's hand.
    promoter.merge_patch(APPLICATIONS, "shop", {"spec": {"defaultFlow": {"version": "2"}}}, ns(prod))
    wait_for(lambda: served(kube, prod, "c1") == v2 and served(kube, prod, "c2") == v2, message="both on HEAD")
    promoter.merge_patch(APPLICATIONS, "shop", {"spec": {"defaultFlow": {"version": "1"}}}, ns(prod))
    refused = wait_for(
        lambda: (c := resolved_condition(kube, prod, "c1")).get("reason") == "ApprovalRequired" and c, message="c1 refused"
    )
    assert "bob-promoter, who set it on Application shop" in refused["message"]
    assert served(kube, prod, "c1") == v2 and served(kube, prod, "c2") == v2
    # Nor may a promoter move a client onto an Application an approver pinned to an older version.
    kube.create(APPLICATIONS, application_body("legacy", "1"), ns(prod))
    own = {"apiVersion": "flowops.io/v1alpha1", "kind": "ApiClient", "metadata": {"name": "own"}}
    own["spec"] = {"defaultFlow": {"name": "standard", "version": "2"}}
    promoter.create(APICLIENTS, own, ns(prod))
    wait_for(lambda: served(kube, prod, "own") == v2, message="own pinned to HEAD, version 2")
    promoter.merge_patch(APICLIENTS, "own", {"spec": {"application": "legacy", "defaultFlow": None}}, ns(prod))
    refused = wait_for(
        lambda: (c := resolved_condition(kube, prod, "own")).get("reason") == "ApprovalRequired" and c, message="own refused"
    )
    assert "bob-promoter, who set it on ApiClient own" in refused["message"] and served(kube, prod, "own") == v2


def test_moving_a_production_client_to_another_flow_needs_an_approver(kube, kube_as, running_operator, make_environment):
    """Every flow in production was reviewed into it; which flow a client serves is a
    production change too. A promoter may keep a client on its flow's HEAD, but pointing a
    sign-in client at another flow's HEAD needs an approver's hand, on the client or on the
    Application it takes the flow from."""
    dev, staging, prod = chain(make_environment, requireReview=True)
    heads = {}
    for flow_name in ("standard", "signup"):
        kube_as("editor").create(FLOWS, flow(flow_name, {"title": flow_name}), ns(dev))
        wait_for_number(kube, ns(dev), flow_name, 1)
        kube_as("promoter").create(PROMOTIONS, promotion(f"{flow_name}-staging", name(dev), flow_name, "1"), ns(staging))
        landed(kube, staging, f"{flow_name}-staging")
        heads[flow_name] = promote_to_production(kube, kube_as, staging, prod, 1, flow_name)
    promoter = kube_as("promoter")

    def serving(client: str) -> tuple[str, str] | None:
        found = kube.get_or_none(CONFIGMAPS, f"{client}-flow", ns(prod))
        return (found["data"]["flow"], found["data"]["version"]) if found else None

    own = {"apiVersion": "flowops.io/v1alpha1", "kind": "ApiClient", "metadata": {"name": "web"}}
    own["spec"] = {"defaultFlow": {"name": "standard", "version": "1"}}
    promoter.create(APICLIENTS, own, ns(prod))  # a new client: what it serves first is HEAD
    wait_for(lambda: serving("web") == ("standard", heads["standard"]), message="web on standard's HEAD")
    promoter.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"name": "signup"}}}, ns(prod))
    refused = wait_for(
        lambda: (c := resolved_condition(kube, prod, "web")).get("reason") == "ApprovalRequired" and c,
        message="the promoter's move to another flow refused",
    )
    assert "this client serves flow standard, and moving it to flow signup" in refused["message"]
    assert "bob-promoter, who set it on ApiClient web, may not approve Promotions here" in refused["message"]
    assert serving("web") == ("standard", heads["standard"]), "what it served stays"

    # Through an Application: the promoter's client joins an approver's, then the promoter
    # moves the Application's flow. Each client keeps what it serves.
    kube.create(APPLICATIONS, application_body("shop", "1"), ns(prod))
    kube.create(APICLIENTS, client_body("c1", application="shop"), ns(prod))
    wait_for(lambda: serving("c1") == ("standard", heads["standard"]), message="c1 on the approver's Application")
    promoter.merge_patch(APPLICATIONS, "shop", {"spec": {"defaultFlow": {"name": "signup"}}}, ns(prod))
    refused = wait_for(
        lambda: (c := resolved_condition(kube, prod, "c1")).get("reason") == "ApprovalRequired" and c, message="c1 refused"
    )
    assert "bob-promoter, who set it on Application shop" in refused["message"]
    assert serving("c1") == ("standard", heads["standard"])

    # An approver's hand on the spec (a write that changes it: version 1 by its id) moves each.
    kube.merge_patch(APICLIENTS, "web", {"spec": {"defaultFlow": {"version": heads["signup"]}}}, ns(prod))
    wait_for(lambda: serving("web") == ("signup", heads["signup"]), message="web moved to signup by an approver")
    kube.merge_patch(APPLICATIONS, "shop", {"spec": {"defaultFlow": {"version": heads["signup"]}}}, ns(prod))
    wait_for(lambda: serving("c1") == ("signup", heads["signup"]), message="c1 moved to signup by an approver")


def test_a_refused_client_stays_refused_after_a_metadata_write_and_a_restart(kube, kube_as, running_operator, make_environment):
    staging, prod, v1 = production_with_two_versions(kube, kube_as, make_environment)
    v2 = promote_to_production(kube, kube_as, staging, prod, 2)
    promoter = kube_as("promoter")
    kube.create(APPLICATIONS, application_body("legacy", "1"), ns(prod))  # an approver's pin to version 1
    own = {"apiVersion": "flowops.io/v1alpha1", "kind": "ApiClient", "metadata": {"name": "own"}}
    own["spec"] = {"defaultFlow": {"name": "standard", "version": "2"}}
    promoter.create(APICLIENTS, own, ns(prod))
    wait_for(lambda: served(kube, prod, "own") == v2, message="own pinned to HEAD, version 2")
    # The promoter moves one client onto the old pin and makes another there: both refused.
    promoter.merge_patch(APICLIENTS, "own", {"spec": {"application": "legacy", "defaultFlow": None}}, ns(prod))
    promoter.create(APICLIENTS, client_body("newc", application="legacy"), ns(prod))
    for client in ("own", "newc"):
        wait_for(
            lambda c=client: resolved_condition(kube, prod, c).get("reason") == "ApprovalRequired", message=f"{client} refused"
        )

    def still_refused() -> None:
        for client in ("own", "newc"):
            assert resolved_condition(kube, prod, client).get("reason") == "ApprovalRequired", client
        assert served(kube, prod, "own") == v2 and served(kube, prod, "newc") is None

    # The promoter's own label write has the operator resolve both again (the barrier is that
    # write, handled): the refusal stands, the API server's record of the spec's writer too.
    for client in ("own", "newc"):
        barrier(promoter, APICLIENTS, ns(prod), client)
    still_refused()
    # So it does after a restart, which resolves every client afresh.
    running_operator.restart()
    for client in ("own", "newc"):
        barrier(kube, APICLIENTS, ns(prod), client)
    still_refused()
    # An approver's hand on the client's spec is what serves the old version.
    kube.merge_patch(APICLIENTS, "newc", {"spec": {"defaultFlow": {"version": "1"}}}, ns(prod))
    wait_for(lambda: served(kube, prod, "newc") == v1, message="newc on version 1, set by an approver")


def test_where_approvals_are_reserved_to_groups_a_pin_needs_a_writer_in_one(kube, kube_as, running_operator, make_environment):
    staging, prod, v1 = production_with_two_versions(kube, kube_as, make_environment)
    promote_to_production(kube, kube_as, staging, prod, 2)  # version 2 is HEAD: version 1 is a rollback
    kube.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"policy": {"promotion": {"approverGroups": ["system:masters"]}}}})
    barrier(kube, ENVIRONMENTS, None, name(prod))  # the operator has the new policy
    for role in ("flowops-promoter", "flowops-approver"):
        bind(kube, ns(prod), role, "erin-scoped")
    # erin may approve there (RoleBindings) but is not in system:masters: her pin to the older
    # version is refused; the cluster admin's, in the group, is served.
    pinned = {"apiVersion": "flowops.io/v1alpha1", "kind": "ApiClient"}
    pinned["spec"] = {"defaultFlow": {"name": "standard", "version": "1"}}
    kube_as("scoped").create(APICLIENTS, {**pinned, "metadata": {"name": "erins"}}, ns(prod))
    kube.create(APICLIENTS, {**pinned, "metadata": {"name": "admins"}}, ns(prod))
    refused = wait_for(
        lambda: (c := resolved_condition(kube, prod, "erins")).get("reason") == "ApprovalRequired" and c,
        message="erin's pin refused",
    )
    assert "erin-scoped, who set it on ApiClient erins, may not approve Promotions here" in refused["message"]
    assert "reserved to the groups system:masters" in refused["message"] and served(kube, prod, "erins") is None
    wait_for(lambda: served(kube, prod, "admins") == v1, message="the admin's pin served")


def pinned(kind: str, name: str, version: str) -> dict:
    """An Application or ApiClient pinned to `version` of flow standard."""
    return {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"defaultFlow": {"name": "standard", "version": version}},
    }


def application_body(app: str, version: str) -> dict:
    return pinned("Application", app, version)


def client_body(client: str, application: str) -> dict:
    return {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "ApiClient",
        "metadata": {"name": client},
        "spec": {"application": application},
    }


def served(kube: Kube, env: dict, client: str) -> str | None:
    found = kube.get_or_none(CONFIGMAPS, f"{client}-flow", ns(env))
    return found["data"]["version"] if found else None


def resolved_condition(kube: Kube, env: dict, client: str) -> dict:
    status = kube.get(APICLIENTS, client, ns(env)).get("status") or {}
    return next((c for c in status.get("conditions") or () if c["type"] == "Resolved"), {})


def pinned_client(client: str, version: str) -> dict:
    return pinned("ApiClient", client, version)


def observed(kube: Kube, env: dict, binding: str, resource: Any = APICLIENTS) -> dict | None:
    """The binding (an ApiClient, or an Application) once its generation is observed, with
    `resolved` (its Resolved condition)."""
    obj = kube.get(resource, binding, ns(env))
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"]["generation"]:
        return None
    return {**obj, "resolved": next((c for c in status.get("conditions") or () if c["type"] == "Resolved"), {})}


def as_tools_read(obj: dict) -> tuple[str, str, list[str]]:
    """(kstatus, Argo CD, condition types): how Flux and Argo CD read the binding."""
    types = sorted(c["type"] for c in obj["status"].get("conditions") or ())
    return kstatus.compute(obj)[0], argocd.health(obj["kind"], obj)[0], types


def waiting_for(kube: Kube, env: dict, binding: str, text: str, resource: Any = APICLIENTS) -> dict:
    return wait_for(
        lambda: (obj := observed(kube, env, binding, resource)) and text in obj["resolved"].get("message", "") and obj,
        message=f"{binding}: {text}",
    )


def with_two_reviewed_promotions(
    kube: Kube, kube_as: Callable[[str], Kube], make_environment: Callable[..., dict], pin: Callable[[dict, str], None]
) -> dict:
    """docs/gitops.md: one pull request holds two reviewed Promotions of a flow production has
    not got yet (to-prod-1 and to-prod-2, versions 1 and 2 of staging's standard), each with
    the bindings `pin(production, number)` makes pinned to the version it will land.
    Production, once both Promotions await approval."""
    staging, prod = staging_with_two_versions(kube, kube_as, make_environment)
    for number in ("1", "2"):
        kube_as("promoter").create(
            PROMOTIONS, promotion(f"to-prod-{number}", name(staging), "standard", number, review=True), ns(prod)
        )
        pin(prod, number)
    for number in ("1", "2"):
        wait_for_phase(kube, ns(prod), f"to-prod-{number}", ("AwaitingApproval",))
    return prod


def suspended_with_the_promotions(kube: Kube, env: dict, binding: str, resource: Any = APICLIENTS) -> None:
    """The binding waits as the Promotions awaiting approval do, naming them: Current for
    Flux (a sync is not failed, nor held for days), Suspended for Argo CD."""
    obj = waiting_for(kube, env, binding, "(it is AwaitingApproval)", resource)
    resolved = obj["resolved"]
    assert as_tools_read(obj) == ("Current", "Suspended", ["Resolved"]), resolved
    assert resolved["status"] == "False" and resolved["reason"] == "WaitingForPromotion", resolved
    assert resolved["message"].startswith(
        "waiting for Promotion to-prod-1 and 1 more to land flow standard (it is AwaitingApproval)"
    ), resolved


def approved(kube: Kube, kube_as: Callable[[str], Kube], env: dict, pname: str) -> dict:
    """The Promotion's outcome once a second person approved it."""
    kube_as("approver").merge_patch(PROMOTIONS, pname, {"spec": {"approved": True}}, ns(env))
    return wait_for_phase(kube, ns(env), pname)


def resolved_and_healthy(kube: Kube, env: dict, binding: str, resource: Any = APICLIENTS) -> dict:
    obj = wait_for(
        lambda: (obj := observed(kube, env, binding, resource)) and obj["resolved"].get("status") == "True" and obj,
        message=f"{binding} resolved to the version the first Promotion landed",
    )
    assert as_tools_read(obj) == ("Current", "Healthy", ["Ready", "Resolved"]), obj["status"]
    return obj


def stalled_without_version_2(kube: Kube, env: dict, binding: str, resource: Any = APICLIENTS) -> None:
    """The Promotion it waited for failed and nothing else will bring version 2: Failed for
    Flux, Degraded for Argo CD, saying so."""
    obj = wait_for(
        lambda: (obj := observed(kube, env, binding, resource)) and obj["resolved"].get("reason") == "VersionNotFound" and obj,
        message=f"{binding} stalled once the Promotion it waited for failed",
    )
    assert as_tools_read(obj) == ("Failed", "Degraded", ["Ready", "Resolved", "Stalled"]), obj["status"]
    assert obj["resolved"]["message"].startswith("flow standard has no version 2"), obj["resolved"]


def test_a_client_pinned_to_what_a_reviewed_promotion_lands_waits_for_it_and_fails_with_it(
    kube, kube_as, running_operator, make_environment
):
    """docs/gitops.md: commit the pinned production client in the pull request of the Promotion
    that lands its version. Until then it waits as that Promotion does (a Flux sync is not
    failed, nor held for days); it resolves once the Promotion lands, and fails once the
    Promotion it waited for fails and nothing else may bring its version."""
    clients = {"1": "web", "2": "mobile"}
    prod = with_two_reviewed_promotions(
        kube,
        kube_as,
        make_environment,
        lambda prod, number: kube.create(APICLIENTS, pinned_client(clients[number], number), ns(prod)),
    )
    for client in ("web", "mobile"):
        suspended_with_the_promotions(kube, prod, client)
        assert served(kube, prod, client) is None

    # Approved, the first lands: the client pinned to it resolves (its ConfigMap is written before its status).
    landed_1 = approved(kube, kube_as, prod, "to-prod-1")
    assert landed_1["phase"] == "Succeeded", landed_1
    resolved_and_healthy(kube, prod, "web")
    assert served(kube, prod, "web") == landed_1["targetVersion"]
    # The second may still bring version 2.
    waiting_for(kube, prod, "mobile", "waiting for Promotion to-prod-2 to land flow standard (it is AwaitingApproval)")

    # Approved against a plan made before the first landed, the second fails: nothing will
    # bring version 2 now, and the client says so.
    failed = approved(kube, kube_as, prod, "to-prod-2")
    assert failed["phase"] == "Failed", failed
    stalled_without_version_2(kube, prod, "mobile")
    assert served(kube, prod, "mobile") is None


def test_an_application_pinned_to_what_a_reviewed_promotion_lands_waits_for_it_and_fails_with_it(
    kube, kube_as, running_operator, make_environment
):
    """The same for an Application applied with the Promotion that lands its pinned version,
    and the clients that inherit the pin: they wait as that Promotion does, the Application
    resolves and its clients are served the landed version once it lands, and they fail once
    the Promotion they waited for fails."""
    apps = {"1": "shop", "2": "kiosk"}
    clients = {"shop": ("shop-web", "shop-ios"), "kiosk": ("kiosk-web",)}

    def pin(prod: dict, number: str) -> None:
        kube.create(APPLICATIONS, application_body(apps[number], number), ns(prod))
        for client in clients[apps[number]]:
            kube.create(APICLIENTS, client_body(client, application=apps[number]), ns(prod))

    prod = with_two_reviewed_promotions(kube, kube_as, make_environment, pin)
    for app in ("shop", "kiosk"):
        suspended_with_the_promotions(kube, prod, app, APPLICATIONS)
        wait_for(
            lambda a=app: kube.get(APPLICATIONS, a, ns(prod))["status"].get("clients") == len(clients[a]),
            message=f"{app} counting its clients",
        )
        for client in clients[app]:
            suspended_with_the_promotions(kube, prod, client)
            assert served(kube, prod, client) is None

    # Approved, the first lands: the Application resolves, and its clients serve what landed.
    landed_1 = approved(kube, kube_as, prod, "to-prod-1")
    assert landed_1["phase"] == "Succeeded", landed_1
    v1 = landed_1["targetVersion"]
    shop = resolved_and_healthy(kube, prod, "shop", APPLICATIONS)
    assert shop["resolved"]["message"] == f"default flow standard version 1 ({v1})", shop["resolved"]
    assert shop["status"]["clients"] == 2, shop["status"]
    for client in clients["shop"]:
        status = resolved_and_healthy(kube, prod, client)["status"]
        assert (status["flow"], status["version"], status["number"], status["sources"]) == (
            "standard",
            v1,
            1,
            {"name": "Application", "version": "Application"},
        ), status
        data = kube.get(CONFIGMAPS, status["configMap"], ns(prod))["data"]
        assert (data["flow"], data["version"], json.loads(data["flow.json"])) == ("standard", v1, {"title": "v1"}), data
    # The second may still bring version 2.
    for binding, resource in (("kiosk", APPLICATIONS), ("kiosk-web", APICLIENTS)):
        waiting_for(
            kube, prod, binding, "waiting for Promotion to-prod-2 to land flow standard (it is AwaitingApproval)", resource
        )

    # The second fails (its plan went stale when the first landed): the Application waiting
    # for it, and its client, say nothing will bring version 2.
    failed = approved(kube, kube_as, prod, "to-prod-2")
    assert failed["phase"] == "Failed", failed
    stalled_without_version_2(kube, prod, "kiosk", APPLICATIONS)
    stalled_without_version_2(kube, prod, "kiosk-web")
    assert served(kube, prod, "kiosk-web") is None


def test_a_gitops_approval_lands_and_is_recorded_as_such(kube, kube_as, running_operator, make_environment):
    dev, staging, prod = chain(make_environment, gitopsApprovers=[FLUX])
    bind(kube, ns(prod), "flowops-promoter", FLUX)
    bind(kube, ns(staging), "flowops-viewer", FLUX)
    kube.create(FLOWS, flow("standard", {"title": "from git"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube.create(PROMOTIONS, promotion("to-staging", name(dev), "standard", "1"), ns(staging))
    staged = landed(kube, staging, "to-staging")

    # The Promotion as merged in git, applied by the controller: reviewed in the pull request.
    body = promotion(
        "release-1",
        name(staging),
        "standard",
        f"sha256:{staged_hash(kube, staging)}",
        review=True,
        approved=True,
        comment="PR #42",
    )
    kube_as("gitops").apply(
        PROMOTIONS,
        "release-1",
        {**body, "metadata": {"name": "release-1", "namespace": ns(prod)}},
        ns(prod),
        field_manager="kustomize-controller",
    )
    release = landed(kube, prod, "release-1")
    approved_by = kube.get(PROMOTIONS, "release-1", ns(prod))["spec"]["approvedBy"]
    assert (approved_by["username"], approved_by["via"]) == (FLUX, "GitOps")
    version = kube.list(FLOWVERSIONS, ns(prod), label_selector=f"flowops.io/version={release['targetVersion']}")[0]
    provenance = version["spec"]["provenance"]  # the version keeps the record, however the Promotion ends
    assert (provenance["approvedBy"]["via"], provenance["comment"], provenance["name"]) == ("GitOps", "PR #42", "release-1")
    assert kube.get(FLOWS, "standard", ns(prod))["spec"]["content"] == {"title": "from git"}
    assert staged["targetNumber"] == 1


def test_an_approval_merged_after_the_promotion_failed_is_observed_and_runs_nothing(
    kube, kube_as, running_operator, make_environment
):
    dev, staging, prod = chain(make_environment)
    kube_as("editor").create(FLOWS, flow("standard", {"title": "v1"}), ns(dev))
    wait_for_number(kube, ns(dev), "standard", 1)
    kube_as("promoter").create(PROMOTIONS, promotion("to-staging", name(dev), "standard", "1"), ns(staging))
    landed(kube, staging, "to-staging")
    # Reviewed, naming a version staging never had: it fails before anyone approves. The
    # approval pull request merges anyway.
    kube_as("promoter").create(PROMOTIONS, promotion("late", name(staging), "standard", "9", review=True), ns(prod))
    failed = wait_for_phase(kube, ns(prod), "late")
    assert failed["phase"] == "Failed", failed
    generation = kube_as("approver").merge_patch(PROMOTIONS, "late", {"spec": {"approved": True}}, ns(prod))["metadata"][
        "generation"
    ]

    # Flux and Argo CD read the outcome of the new generation, not a Promotion in progress.
    status = wait_for(
        lambda: (s := kube.get(PROMOTIONS, "late", ns(prod))["status"]).get("observedGeneration") == generation and s,
        message="the approval's generation marked observed",
    )
    assert (status["phase"], status["message"]) == ("Failed", failed["message"])
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [(c["type"], c["status"]) for c in failed["conditions"]]
    event = wait_for(
        lambda: next(
            (
                e
                for e in kube.list_events(ns(prod))
                if e["involvedObject"].get("name") == "late" and e.get("reason") == "AlreadyFinished"
            ),
            None,
        ),
        message="an AlreadyFinished Event",
    )
    assert event["type"] == "Warning" and "create a new Promotion" in event["message"], event
    assert kube.get_or_none(FLOWS, "standard", ns(prod)) is None


def test_loosening_an_environments_policy_is_told_naming_the_change_and_who_made_it(
    kube, kube_as, running_operator, make_environment
):
    dev = make_environment("Development")
    prod = make_environment("Production", upstream=name(dev), policy={"promotion": {"approverGroups": ["sre"]}})
    # The API server records who changed the spec; a typed record is replaced.
    kube.merge_patch(ENVIRONMENTS, name(prod), {"metadata": {"annotations": {"flowops.io/changed-by": "someone-else"}}})
    assert "someone-else" not in json.dumps(kube.get(ENVIRONMENTS, name(prod))["metadata"].get("annotations") or {})
    kube.merge_patch(ENVIRONMENTS, name(prod), {"spec": {"freeze": {"reason": "release week"}}})  # tightened: no Event
    barrier(kube, ENVIRONMENTS, None, name(prod))  # handled on its own, not folded into the next change
    kube.merge_patch(
        ENVIRONMENTS,
        name(prod),
        {"spec": {"freeze": None, "policy": {"promotion": {"requireReview": False, "approverGroups": None}}}},
    )
    assert kube.get(ENVIRONMENTS, name(prod))["metadata"]["annotations"]["flowops.io/changed-by"] == "flowops-admin"

    def loosened() -> list[dict]:
        return [
            e
            for e in kube.list_events("default")
            if e["involvedObject"].get("name") == name(prod) and e.get("reason") == "PolicyLoosened"
        ]

    (event,) = wait_for(loosened, message="a PolicyLoosened Event")
    assert event["type"] == "Warning"
    for words in (
        "spec.policy.promotion.requireReview true → false",
        "approvals reserved to sre now open to anyone with the approve permission",
        "the freeze was lifted",
        "spec changed by flowops-admin",
    ):
        assert words in event["message"], event["message"]
    # The freeze before it, handled before the barrier, was a tightening: no Event of its own.
    assert len(loosened()) == 1


def staged_hash(kube: Kube, env: dict) -> str:
    return flow_status(kube, ns(env), "standard")["contentHash"].removeprefix("sha256:")


def test_a_rival_environment_never_takes_over_a_namespace(kube, cluster, running_operator, make_environment, operator):
    title_required = [{"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}]
    first = make_environment("Development", policy={"guardrails": title_required})
    created = datetime.datetime.fromisoformat(first["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
    # Creation times have a resolution of one second: the rival must be younger, and its name sorts first.
    wait_for(lambda: datetime.datetime.now(datetime.UTC) >= created + datetime.timedelta(seconds=1), message="the next second")
    rival = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Environment",
        "metadata": {"name": f"a-rival-{name(first)}"},
        "spec": {"namespace": ns(first), "tier": "Development"},
    }
    # Only a race (or a removed policy) lets a second claim in: remove the policy for a moment.
    cluster.kubectl("delete", "validatingadmissionpolicybinding", "flowops-environment-namespace")
    try:
        wait_until_admitted(lambda: kube.create(ENVIRONMENTS, rival, dry_run=True))
        kube.create(ENVIRONMENTS, rival)
    finally:
        cluster.kubectl("apply", "--server-side", "-f", str(install.MANIFESTS / "policy" / "environments.yaml"))
    wait_until_governed(kube, first)

    for restart in (False, True):
        if restart:
            operator.stop()
            operator.start()
        stalled = wait_for(
            lambda: (
                (c := _condition(kube.get(ENVIRONMENTS, rival["metadata"]["name"]), "Stalled")) and c["status"] == "True" and c
            ),
            message="the rival reported Stalled",
        )
        assert f"namespace {ns(first)} already belongs to Environment {name(first)}" in stalled["message"]
        assert "this Environment is ignored" in stalled["message"]
        assert (_condition(kube.get(ENVIRONMENTS, name(first)), "Ready") or {}).get("status") == "True"
        # The first Environment's guardrails judge the namespace's flows (the rival has none),
        # a new flow after the restart too.
        flow_name = f"no-title-{int(restart)}"
        kube.create(FLOWS, flow(flow_name, {"no": "title"}), ns(first))
        ready = wait_for(
            lambda n=flow_name: (
                (c := _condition({"status": flow_status(kube, ns(first), n)}, "Ready"))
                and c.get("reason") == "GuardrailsFailed"
                and c
            ),
            message=f"{flow_name} failing the first Environment's guardrail",
        )
        assert ready["status"] == "False" and "needs-title" in ready["message"], json.dumps(ready)

    # The first goes: the rival governs at once (no restart), and its rules (none) judge the flows.
    kube.delete(ENVIRONMENTS, name(first))
    wait_for(
        lambda: (_condition(kube.get(ENVIRONMENTS, rival["metadata"]["name"]), "Ready") or {}).get("status") == "True",
        message="the rival governing",
    )
    for flow_name in ("no-title-0", "no-title-1"):
        wait_for(
            lambda n=flow_name: flow_status(kube, ns(first), n).get("latestReadyNumber") == 1,
            message=f"{flow_name} judged by the rival's rules",
        )


def _condition(obj: dict, kind: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), None)
