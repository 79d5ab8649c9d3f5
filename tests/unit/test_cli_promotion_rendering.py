"""What the CLI shows of a Promotion's audit and impact: pure rendering, no cluster."""

from __future__ import annotations

from flowops.cli.commands import history
from flowops.cli.promotions import plan_lines


def version_object(number: int, **spec) -> dict:
    vid = f"2026112109301212345{number}"
    return {
        "metadata": {"name": f"login-{vid}", "creationTimestamp": "2026-11-21T09:30:12Z", "labels": {"flowops.io/ready": "true"}},
        "spec": {"id": vid, "number": number, "message": f"m{number}", "transition": "RestartAll", "origin": "Commit", **spec},
        "status": {},
    }


def test_history_names_who_requested_and_approved_a_promoted_version():
    promoted = version_object(
        3,
        origin="Promotion",
        source={"environment": "staging", "flow": "login", "version": "7"},
        provenance={"requestedBy": {"username": "alice"}, "approvedBy": {"username": "bob", "via": "Cluster"}, "comment": "ship"},
    )
    row = history.version_row(promoted, head=None, used_by=[])
    assert history.people_cell(row) == "alice, approved by bob"
    assert row.to_json()["provenance"]["requestedBy"] == {"username": "alice"}
    gitops = version_object(
        4, provenance={"requestedBy": {"username": "flux"}, "approvedBy": {"username": "flux", "via": "GitOps"}}
    )
    assert history.people_cell(history.version_row(gitops, head=None, used_by=[])) == "flux, approved by flux via GitOps"
    assert history.people_cell(history.version_row(version_object(1), head=None, used_by=[])) is None
    edited = version_object(5)
    edited["spec"]["changedBy"] = "alice-editor"
    assert history.people_cell(history.version_row(edited, head=None, used_by=[])) == "alice-editor"
    synced = version_object(6)
    synced["spec"].update(
        changedBy="system:serviceaccount:flux-system:fleet",
        appliedBy={"tool": "Flux", "source": "Kustomization flux-system/fleet"},
    )
    row = history.version_row(synced, head=None, used_by=[])
    assert history.people_cell(row) == "system:serviceaccount:flux-system:fleet (Flux)"
    assert row.to_json()["changedBy"] == "system:serviceaccount:flux-system:fleet"


def test_review_plan_shows_who_switches_and_who_stays_pinned():
    plan = {
        "total": 1,
        "changes": [{"op": "replace", "path": "/title", "old": "a", "new": "b"}],
        "impact": {
            "followingHead": [{"kind": "ApiClient", "name": "web"}],
            "pinned": [{"kind": "Application", "name": "mobile", "version": "3"}],
        },
    }
    text = "\n".join(str(line) for line in plan_lines(plan, "production/login"))
    assert "switch at once (follow HEAD): ApiClient/web" in text
    assert "unaffected (pinned): Application/mobile@3" in text
    nobody = "\n".join(str(line) for line in plan_lines({**plan, "impact": {"followingHead": [], "pinned": []}}, "p/login"))
    assert "no ApiClient or Application uses this flow here" in nobody


def test_a_dry_run_promotion_is_named_after_what_it_promotes():
    from flowops.cli.environments import Environment
    from flowops.cli.promotions import body, pinned_name

    promotion = body(
        source=Environment("staging", "flowops-staging"),
        flow="standard",
        version="sha256:" + "a" * 64,
        target=Environment("production", "flowops-production"),
        target_flow="standard",
        review=True,
    )
    assert pinned_name(promotion, "version 12 (20261121093012123456)") == "standard-from-staging-v12"
    assert promotion["spec"]["source"]["version"].startswith("sha256:") and promotion["spec"]["review"] is True
