"""The built-in roles a namespace's owners already hand out. The controller-manager
aggregates flowops's viewer into view, its editor into edit and its promoter into admin;
approving is in none of them, so no built-in grant approves a production change."""

from __future__ import annotations

from flowops.kube import FLOWS, PROMOTIONS
from flowops.testing.admission import bind, refused
from flowops.testing.objects import flow, promotion

ERIN = "erin-scoped"  # no grant but the RoleBindings made here


def test_view_reads_flows_and_changes_nothing(kube, kube_as, make_environment):
    namespace = make_environment("Development")["spec"]["namespace"]
    kube.create(FLOWS, flow("standard", {"title": "v1"}), namespace)
    bind(kube, namespace, "view", ERIN)
    erin = kube_as("scoped")
    assert erin.get(FLOWS, "standard", namespace)["spec"]["content"] == {"title": "v1"}
    refused(
        lambda: erin.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, namespace),
        f'User "{ERIN}" cannot patch resource "flows"',
    )
    refused(lambda: erin.create(FLOWS, flow("other", {}), namespace), f'User "{ERIN}" cannot create resource "flows"')
    assert kube.get(FLOWS, "standard", namespace)["spec"]["content"] == {"title": "v1"}
    assert kube.get_or_none(FLOWS, "other", namespace) is None


def test_edit_edits_flows_but_does_not_promote(kube, kube_as, make_environment):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=dev["metadata"]["name"])
    kube.create(FLOWS, flow("standard", {"title": "v1"}), dev["spec"]["namespace"])
    for env in (dev, staging):
        bind(kube, env["spec"]["namespace"], "edit", ERIN)
    erin = kube_as("scoped")
    erin.merge_patch(FLOWS, "standard", {"spec": {"content": {"title": "v2"}}}, dev["spec"]["namespace"])
    assert kube.get(FLOWS, "standard", dev["spec"]["namespace"])["spec"]["content"] == {"title": "v2"}
    refused(
        lambda: erin.create(PROMOTIONS, promotion("up", dev["metadata"]["name"], "standard"), staging["spec"]["namespace"]),
        f'User "{ERIN}" cannot create resource "promotions"',
    )
    assert kube.get_or_none(PROMOTIONS, "up", staging["spec"]["namespace"]) is None


def test_admin_promotes_but_does_not_approve(kube, kube_as, make_environment):
    dev = make_environment("Development")
    prod = make_environment("Production", upstream=dev["metadata"]["name"])
    kube.create(FLOWS, flow("standard", {"title": "v1"}), dev["spec"]["namespace"])
    bind(kube, dev["spec"]["namespace"], "view", ERIN)  # a requester must be able to read the source
    bind(kube, prod["spec"]["namespace"], "admin", ERIN)
    erin = kube_as("scoped")
    body = promotion("release", dev["metadata"]["name"], "standard", "1", review=True)
    assert erin.create(PROMOTIONS, body, prod["spec"]["namespace"])["spec"]["requestedBy"]["username"] == ERIN
    refused(
        lambda: erin.merge_patch(PROMOTIONS, "release", {"spec": {"approved": True}}, prod["spec"]["namespace"]),
        f"{ERIN} may not approve Promotions",
        "flowops-approver",
    )
    assert kube.get(PROMOTIONS, "release", prod["spec"]["namespace"])["spec"].get("approved") in (None, False)
