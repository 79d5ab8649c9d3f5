"""kubectl-flowops against the real control plane: the installed command, run as a user
would (as a subprocess, and once through `kubectl flowops` plugin discovery), asserting on
what it prints and its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowops.kube import APICLIENTS, APPLICATIONS, FLOWS, PROMOTIONS
from flowops.testing.objects import PROMOTE_NOW, flow, flow_status, promotion, wait_for_number, wait_for_phase
from flowops.testing.waiting import wait_for

BIN = Path(sys.executable).parent
COMMAND = BIN / "kubectl-flowops"
API_VERSION = "flowops.io/v1alpha1"
NEED_PRIVACY = [
    {
        "name": "needs-privacy-url",
        "expression": "has(content.privacyUrl)",
        "message": "add /privacyUrl: production sign-in pages must link the privacy policy",
    }
]
NON_EMPTY_TITLE = [{"name": "title-not-empty", "expression": "content.title != ''", "message": "set /title"}]


class Result:
    def __init__(self, completed: subprocess.CompletedProcess) -> None:
        self.code, self.out, self.err = completed.returncode, completed.stdout, completed.stderr
        # No command may end in a stack trace, whatever went wrong.
        assert "Traceback" not in self.err, self.err

    def json(self):
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@pytest.fixture
def cli(cluster):
    def run(*args: str, user: str = "admin", timeout: float = 120) -> Result:
        cmd = [str(COMMAND), *args, "--kubeconfig", str(cluster.kubeconfig), "--context", f"flowops-{user}"]
        return Result(subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "NO_COLOR": ""}))

    return run


def ns(env) -> str:
    return env["spec"]["namespace"]


def name(env) -> str:
    return env["metadata"]["name"]


def commit(kube, namespace, flow_name, content, number, cause=None, **spec):
    """Create or edit a flow (with a change message) and wait until version `number` exists."""
    annotations = {"flowops.io/change-cause": cause} if cause else None
    if kube.get_or_none(FLOWS, flow_name, namespace) is None:
        kube.create(FLOWS, flow(flow_name, content, annotations=annotations, **spec), namespace)
    else:
        kube.merge_patch(FLOWS, flow_name, {"metadata": {"annotations": annotations or {}}}, namespace)
        kube.json_patch(FLOWS, flow_name, [{"op": "replace", "path": "/spec/content", "value": content}], namespace)
    return wait_for_number(kube, namespace, flow_name, number)


def rows(text: str) -> list[list[str]]:
    """A table's data rows, split on the 3-space column gaps."""
    return [[cell.strip() for cell in line.split("   ") if cell.strip()] for line in text.splitlines()[1:] if line.strip()]


def version_ids(kube, namespace, flow_name) -> dict[int, str]:
    from flowops.services.versions import list_records

    return {r.number: r.id for r in list_records(kube, namespace, flow_name)}


V1 = {"title": "Sign in", "fields": {"email": {"type": "email"}}}
V2 = {"title": "Sign in now", "fields": {"email": {"type": "email"}, "phone": {"type": "tel"}}}


# -- reading: status, history, show, diff -----------------------------------------------------


def test_status_shows_flows_across_environments_and_clients(cli, kube, running_operator, make_environment):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), protected=False)  # edited directly below
    commit(kube, ns(dev), "login", V1, 1, "first")
    commit(kube, ns(dev), "login", V2, 2, "title and phone")
    commit(kube, ns(staging), "login", V1, 1)
    kube.create(
        APPLICATIONS,
        {
            "apiVersion": API_VERSION,
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {"defaultFlow": {"name": "login"}},
        },
        ns(dev),
    )
    kube.create(
        APICLIENTS,
        {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "web-frontend"}, "spec": {"application": "web"}},
        ns(dev),
    )
    dev_ids = version_ids(kube, ns(dev), "login")

    result = cli("status", "-o", "json")
    assert result.code == 0, result
    report = result.json()
    mine = {
        r["environment"]: r for r in report["flows"] if r["flow"] == "login" and r["environment"] in (name(dev), name(staging))
    }
    assert mine[name(dev)]["number"] == 2 and mine[name(dev)]["head"] == dev_ids[2] and mine[name(dev)]["ready"] == "True"
    assert mine[name(staging)]["sync"] == {"state": "OutOfSync", "upstream": name(dev), "differingPaths": 2}
    client = next(c for c in report["clients"] if c["environment"] == name(dev))
    assert (client["name"], client["flow"], client["number"], client["followsHead"]) == ("web-frontend", "login", 2, True)

    table = cli("status", "login")
    assert table.code == 0, table
    lines = table.out.splitlines()
    assert lines[0].split()[:4] == ["FLOW", "ENVIRONMENT", "HEAD", "NUMBER"]
    dev_row = next(r for r in rows(table.out) if r[:2] == ["login", name(dev)])
    assert dev_row[2:5] == [dev_ids[2], "2", "True"]
    staging_row = next(r for r in rows(table.out) if r[:2] == ["login", name(staging)])
    assert f"2 paths differ from {name(dev)}" in staging_row
    client_line = next(line for line in lines if line.split()[:2] == [name(dev), "web-frontend"])
    assert dev_ids[2] in client_line and "follows HEAD" in client_line

    # -n narrows the matrix to one environment, given by name or by namespace.
    for wanted in (name(staging), ns(staging)):
        only = cli("status", "-n", wanted, "-o", "json")
        assert only.code == 0, only
        assert {r["environment"] for r in only.json()["flows"]} == {name(staging)}


def test_history_marks_head_messages_and_failed_guardrails(cli, kube, running_operator, make_environment):
    dev = make_environment("Development", policy={"guardrails": NON_EMPTY_TITLE})
    commit(kube, ns(dev), "login", V1, 1, "first version")
    commit(kube, ns(dev), "login", V2, 2, "longer title")
    commit(kube, ns(dev), "login", {**V2, "title": ""}, 3, "oops: empty title")
    ids = version_ids(kube, ns(dev), "login")

    result = cli("history", "login", "-n", name(dev))
    assert result.code == 0, result
    table = rows(result.out)
    assert result.out.splitlines()[0].split()[:5] == ["HEAD", "NUMBER", "VERSION", "AGE", "MESSAGE"]
    assert table[0][0] == "3"  # newest first; it failed, so it is not HEAD
    head_row = next(r for r in table if r[0] == "*")
    assert head_row[1:3] == ["2", ids[2]] and "longer title" in head_row and "passed" in head_row
    failed_row = next(r for r in table if r[0] == "3")
    assert "oops: empty title" in failed_row and "failed: title-not-empty" in failed_row

    data = cli("history", "login", "-n", ns(dev), "-o", "json").json()
    assert [v["number"] for v in data["versions"]] == [3, 2, 1]
    assert data["head"] == ids[2] and [v["head"] for v in data["versions"]] == [False, True, False]
    assert data["versions"][0]["failedRules"] == ["title-not-empty"] and "set /title" in data["versions"][0]["guardrails"]
    assert data["versions"][2]["message"] == "first version" and data["versions"][2]["source"] is None


def test_show_documents_and_pointers(cli, kube, running_operator, make_environment):
    dev = make_environment("Development")
    commit(kube, ns(dev), "login", V1, 1)
    commit(kube, ns(dev), "login", V2, 2)
    kube.merge_patch(FLOWS, "login", {"spec": {"versioning": {"mode": "Manual"}}}, ns(dev))
    kube.json_patch(FLOWS, "login", [{"op": "replace", "path": "/spec/content/title", "value": "draft"}], ns(dev))

    assert cli("show", "login", "-n", name(dev)).json() == V2
    assert cli("show", "login@1", "-n", name(dev)).json() == V1
    assert cli("show", f"{name(dev)}/login@1", "/fields/email").json() == {"type": "email"}
    assert cli("show", f"{name(dev)}/login@uncommitted", "/title").json() == "draft"
    as_yaml = cli("show", "login@2", "/fields", "-n", name(dev), "-o", "yaml")
    assert as_yaml.code == 0 and "phone:\n  type: tel" in as_yaml.out

    missing = cli("show", "login", "/fields/nope", "-n", name(dev))
    assert missing.code == 2 and "nothing at /fields/nope: /fields has keys: email, phone" in missing.err


def test_diff_between_versions_and_environments(cli, kube, running_operator, make_environment):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), protected=False)  # edited directly below
    commit(kube, ns(dev), "login", V1, 1)
    commit(kube, ns(dev), "login", V2, 2)
    commit(kube, ns(staging), "login", V1, 1)

    text = cli("diff", "login@1", "login@2", "-n", name(dev))
    assert text.code == 0, text
    assert '+ /fields/phone  {"type":"tel"}' in text.out
    assert '~ /title  "Sign in" → "Sign in now"' in text.out
    assert "2 paths differ: 1 added, 1 changed" in text.out

    across = cli("diff", f"{name(staging)}/login", f"{name(dev)}/login", "-o", "json")
    assert across.code == 0, across
    data = across.json()
    assert (data["from"]["environment"], data["to"]["environment"], data["total"]) == (name(staging), name(dev), 2)
    assert {"op": "replace", "path": "/title", "old": "Sign in", "new": "Sign in now"} in data["changes"]
    assert {"op": "add", "path": "/fields/phone", "new": {"type": "tel"}} in data["changes"]

    stat = cli("diff", "login@2", "@1", "-n", name(dev), "--stat")
    assert stat.code == 0, stat
    assert "/fields/phone" in stat.out and "/title" in stat.out and "2 paths differ: 1 removed, 1 changed" in stat.out

    same = cli("diff", f"{name(staging)}/login", f"{name(dev)}/login@1", "--exit-code")
    assert same.code == 0 and "no differences" in same.out
    differs = cli("diff", f"{name(staging)}/login", f"{name(dev)}/login", "--exit-code")
    assert differs.code == 1


# -- errors -------------------------------------------------------------------------------------


def test_user_errors_exit_2_with_a_message(cli, kube, running_operator, make_environment):
    dev = make_environment("Development")
    commit(kube, ns(dev), "login", V1, 1)

    unknown_flow = cli("history", "nope", "-n", name(dev))
    assert unknown_flow.code == 2
    assert f"flow 'nope' not found in environment {name(dev)} (namespace {ns(dev)})" in unknown_flow.err
    assert "flows there: login" in unknown_flow.err

    unknown_env = cli("status", "-n", "no-such-environment")
    assert unknown_env.code == 2 and "unknown environment 'no-such-environment'" in unknown_env.err
    assert cli("diff", "no-such-environment/login", f"{name(dev)}/login").code == 2

    no_version = cli("show", "login@7", "-n", name(dev))
    assert no_version.code == 2 and f"flow login in environment {name(dev)} has no version 7; it has 1" in no_version.err

    bad_selector = cli("show", "login@tuesday", "-n", name(dev))
    assert bad_selector.code == 2 and "invalid version selector 'tuesday'" in bad_selector.err

    no_env = cli("history", "login")
    assert no_env.code == 2 and "pass -n ENVIRONMENT" in no_env.err

    usage = cli("rollback", "login", "-n", name(dev))  # --to is required
    assert usage.code == 2 and "--to" in usage.err

    bad_context = cli("status", user="nobody")
    assert bad_context.code == 2 and "kubeconfig" in bad_context.err


def test_viewer_is_denied_writes_with_exit_3(cli, kube, running_operator, make_environment):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev))
    commit(kube, ns(dev), "login", V1, 1)
    commit(kube, ns(dev), "login", V2, 2)
    kube.create(
        APICLIENTS,
        {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "app"}, "spec": {"defaultFlow": {"name": "login"}}},
        ns(dev),
    )

    # Reading is what a viewer is for.
    assert cli("history", "login", "-n", name(dev), user="viewer").code == 0
    assert cli("why", "app", "-n", name(dev), user="viewer").code == 0

    for args in (
        ("restore", "login", "--to", "1", "-n", name(dev)),
        ("pin", "app", "--version", "1", "-n", name(dev)),
        ("promote", "login", "--from", name(dev), "--to", name(staging)),
        ("commit", "login", "-m", "x", "-n", name(dev)),
    ):
        denied = cli(*args, user="viewer")
        if args[0] == "commit":  # an Auto-mode flow: refused before anything is written
            assert denied.code == 2, denied
            continue
        assert denied.code == 3, denied
        assert "forbidden" in denied.err and "cannot" in denied.err  # RBAC's own words, naming the verb refused
    assert flow_status(kube, ns(dev), "login")["latestCreatedNumber"] == 2


# -- plugin discovery -----------------------------------------------------------------------------


def test_kubectl_finds_the_plugin_on_path(cluster, kube, running_operator, make_environment):
    dev = make_environment("Development")
    commit(kube, ns(dev), "login", V1, 1, "through kubectl")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    kubectl = cluster.binary("kubectl")

    listed = subprocess.run([kubectl, "plugin", "list"], capture_output=True, text=True, env=env)
    assert str(COMMAND) in listed.stdout

    run = subprocess.run(
        [
            kubectl,
            "flowops",
            "history",
            "login",
            "-n",
            name(dev),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--context",
            "flowops-viewer",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "through kubectl" in run.stdout and "*" in run.stdout

    missing = subprocess.run(
        [
            kubectl,
            "flowops",
            "history",
            "nope",
            "-n",
            name(dev),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--context",
            "flowops-viewer",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert missing.returncode == 2 and "flow 'nope' not found" in missing.stderr

    helped = subprocess.run([kubectl, "flowops", "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "3  forbidden" in helped.stdout


# -- writes as the user: restore, commit, pin, why -------------------------------------------------------


def test_restore_writes_old_content_as_a_new_version(cli, kube, running_operator, make_environment):
    dev = make_environment("Development")
    commit(kube, ns(dev), "login", V1, 1)
    commit(kube, ns(dev), "login", V2, 2)

    result = cli("restore", "login", "--to", "1", "-n", name(dev), user="editor")
    assert result.code == 0, result
    ids = version_ids(kube, ns(dev), "login")
    assert f"restored to the content of version 1: version 3 ({ids[3]}) and is HEAD" in result.out
    assert cli("show", "login", "-n", name(dev)).json() == V1
    assert (
        cli("history", "login", "-n", name(dev), "-o", "json").json()["versions"][0]["message"] == f"restore version 1 ({ids[1]})"
    )

    again = cli("restore", "login", "--to", "1", "-n", name(dev), user="editor")
    assert again.code == 0 and "nothing to restore" in again.err


def test_restore_in_a_protected_environment_is_refused(cli, kube, kube_as, running_operator, make_environment):
    dev = make_environment("Development")
    prod = make_environment("Production", upstream=name(dev), policy={"promotion": PROMOTE_NOW})
    commit(kube, ns(dev), "login", V2, 1)
    # Only the operator writes flows in production: version 1 as it, version 2 by a Promotion.
    commit(kube_as("operator"), ns(prod), "login", V1, 1)
    kube.create(PROMOTIONS, promotion("to-prod", name(dev), "login"), ns(prod))
    assert wait_for_phase(kube, ns(prod), "to-prod")["phase"] == "Succeeded"

    refused = cli("restore", "login", "--to", "1", "-n", name(prod), user="editor")
    assert refused.code == 3, refused
    assert f"environment {name(prod)} is protected" in refused.err
    assert f"kubectl flowops rollback login --to 1 -n {name(prod)}" in refused.err
    assert flow_status(kube, ns(prod), "login")["latestCreatedNumber"] == 2


def test_commit_in_manual_mode(cli, kube, running_operator, make_environment):
    dev = make_environment("Development", policy={"guardrails": NON_EMPTY_TITLE})
    commit(kube, ns(dev), "login", V1, 1, versioning={"mode": "Manual"})
    kube.json_patch(FLOWS, "login", [{"op": "replace", "path": "/spec/content", "value": V2}], ns(dev))
    wait_for(lambda: flow_status(kube, ns(dev), "login").get("uncommitted"), message="uncommitted")

    listed = cli("history", "login", "-n", name(dev))
    assert rows(listed.out)[0][:2] == ["-", "uncommitted"]

    done = cli("commit", "login", "-m", "longer title", "-n", name(dev), user="editor")
    assert done.code == 0, done
    ids = version_ids(kube, ns(dev), "login")
    assert f"version 2 ({ids[2]}) and is HEAD" in done.out
    assert cli("history", "login", "-n", name(dev), "-o", "json").json()["versions"][0]["message"] == "longer title"

    nothing = cli("commit", "login", "-m", "again", "-n", name(dev), user="editor")
    assert nothing.code == 0 and "nothing to commit" in nothing.out

    kube.json_patch(FLOWS, "login", [{"op": "replace", "path": "/spec/content/title", "value": ""}], ns(dev))
    broken = cli("commit", "login", "-m", "empty title", "-n", name(dev), user="editor")
    assert broken.code == 1, broken
    assert "version 3" in broken.err and "failed guardrails" in broken.err and "title-not-empty" in broken.err
    assert "HEAD stays at version 2" in broken.err


def test_pin_and_why(cli, kube, running_operator, make_environment):
    dev = make_environment("Development")
    prod = make_environment("Production")
    commit(kube, ns(dev), "login", V1, 1)
    commit(kube, ns(dev), "login", V2, 2)
    ids = version_ids(kube, ns(dev), "login")
    kube.create(
        APPLICATIONS,
        {
            "apiVersion": API_VERSION,
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {"defaultFlow": {"name": "login", "version": "HEAD"}},
        },
        ns(dev),
    )
    kube.create(
        APICLIENTS,
        {"apiVersion": API_VERSION, "kind": "ApiClient", "metadata": {"name": "web-frontend"}, "spec": {"application": "web"}},
        ns(dev),
    )

    why = cli("why", "web-frontend", "-n", name(dev))
    assert why.code == 0, why
    assert "application web" in why.out
    setting_rows = {r[0]: r for r in rows(why.out.split("\n\n")[1])}
    assert setting_rows["name"][-1] == "Application web (spec.defaultFlow.name)"
    assert setting_rows["version"][-1] == "Application web (spec.defaultFlow.version)"
    assert f"login version 2 ({ids[2]}), follows HEAD" in why.out

    pinned = cli("pin", "web-frontend", "--version", "1", "-n", name(dev), user="editor")
    assert pinned.code == 0, pinned
    assert f"pinned to login version 1 ({ids[1]})" in pinned.out
    assert kube.get(APICLIENTS, "web-frontend", ns(dev))["spec"]["defaultFlow"] == {"version": "1"}

    explained = cli("why", "web-frontend", "-n", name(dev), "-o", "json").json()
    assert explained["version"] == ids[1] and explained["number"] == 1 and explained["followsHead"] is False
    assert explained["sources"] == {"name": "Application", "version": "ApiClient"}
    assert explained["explanation"]["version"] == "ApiClient web-frontend (spec.defaultFlow.version)"

    missing = cli("pin", "web-frontend", "--version", "9", "-n", name(dev), user="editor")
    assert missing.code == 2 and "has no version 9" in missing.err
    nobody = cli("why", "mobile", "-n", name(dev))
    assert nobody.code == 2 and "apiclient 'mobile' not found" in nobody.err and "web-frontend" in nobody.err

    # Production's policy forbids following HEAD: refused before anything is written.
    kube.create(
        APICLIENTS,
        {
            "apiVersion": API_VERSION,
            "kind": "ApiClient",
            "metadata": {"name": "shop"},
            "spec": {"defaultFlow": {"name": "login", "version": "1"}},
        },
        ns(prod),
    )
    head = cli("pin", "shop", "--version", "HEAD", "-n", name(prod), user="editor")
    assert head.code == 2 and "HEAD is not allowed" in head.err


# -- promotions ------------------------------------------------------------------------------------------


def promotion_chain(kube, make_environment, prod_guardrails=None):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=name(dev), policy={"promotion": PROMOTE_NOW})
    prod = make_environment(
        "Production",
        upstream=name(staging),
        policy={"guardrails": prod_guardrails or [], "promotion": {**PROMOTE_NOW, "allowedSources": [name(staging), name(dev)]}},
    )
    commit(kube, ns(dev), "login", V1, 1, "first")
    commit(kube, ns(dev), "login", V2, 2, "title and phone")
    return dev, staging, prod


def test_promote_shows_the_plan_follows_it_and_prints_the_new_version(cli, kube, running_operator, make_environment):
    dev, staging, prod = promotion_chain(kube, make_environment)

    first = cli("promote", "login", "--from", name(dev), "--to", name(staging), "--version", "1", user="promoter")
    assert first.code == 0, first
    assert "promotion.flowops.io/login-" in first.out and f"created in environment {name(staging)}" in first.out
    assert f"plan: 2 changes to {name(staging)}/login" in first.out
    staging_ids = version_ids(kube, ns(staging), "login")
    assert f"promoted {name(dev)}/login@1 to {name(staging)}/login: version 1 ({staging_ids[1]})" in first.out

    # --to alone promotes from the target's upstream; -o json is for machines.
    second = cli("promote", "login", "--to", name(staging), "--comment", "phone field", "-o", "json", user="promoter")
    assert second.code == 0, second
    result = second.json()
    assert result["phase"] == "Succeeded" and result["targetNumber"] == 2
    assert (
        result["plan"]["total"] == 2
        and {"op": "add", "path": "/fields/phone", "new": {"type": "tel"}} in result["plan"]["changes"]
    )
    assert "Succeeded" in second.err  # progress goes to stderr when stdout is JSON

    to_prod = cli("promote", "login", "--from", name(staging), "--to", name(prod), "--exclude", "/fields/phone", user="promoter")
    assert to_prod.code == 0, to_prod
    assert cli("show", f"{name(prod)}/login").json() == {**V2, "fields": {"email": {"type": "email"}}}

    history = cli("history", "login", "-n", name(staging), "-o", "json").json()["versions"]
    assert history[0]["message"] == "phone field" and history[0]["source"]["environment"] == name(dev)
    table = cli("history", "login", "-n", name(staging))
    assert f"{name(dev)}/login@2" in table.out and f"{name(dev)}/login@1" in table.out

    status = cli("status", "login", "-o", "json").json()
    prod_row = next(r for r in status["flows"] if r["environment"] == name(prod))
    assert prod_row["lastPromotion"]["sourceEnvironment"] == name(staging)
    assert prod_row["sync"]["state"] == "OutOfSync" and prod_row["sync"]["differingPaths"] == 1


def test_promotion_that_fails_guardrails_exits_1_naming_the_rule(cli, kube, running_operator, make_environment):
    dev, staging, prod = promotion_chain(kube, make_environment, prod_guardrails=NEED_PRIVACY)

    failed = cli("promote", "login", "--from", name(dev), "--to", name(prod), user="promoter")
    assert failed.code == 1, failed
    assert "failed" in failed.err and "needs-privacy-url" in failed.err and "add /privacyUrl" in failed.err
    assert kube.get_or_none(FLOWS, "login", ns(prod)) is None  # nothing was written


def test_review_then_approve(cli, kube, running_operator, make_environment):
    dev, staging, prod = promotion_chain(kube, make_environment)

    review = cli("promote", "login", "--from", name(dev), "--to", name(prod), "--review", user="promoter")
    assert review.code == 0, review
    assert "AwaitingApproval" in review.out and f"plan: 2 changes to {name(prod)}/login" in review.out
    promotion = next(w for w in review.out.split() if w.startswith("promotion.flowops.io/")).split("/", 1)[1]
    assert f"kubectl flowops approve {promotion} -n {name(prod)}" in review.out
    assert kube.get_or_none(FLOWS, "login", ns(prod)) is None

    assert cli("approve", promotion, "-n", name(prod), user="viewer").code == 3
    # Approving is its own permission: the promoter lacks it, the approver has it.
    assert cli("approve", promotion, "-n", name(prod), user="promoter").code == 3
    approved = cli("approve", promotion, "-n", name(prod), user="approver")
    assert approved.code == 0, approved
    assert f"promotion {promotion} approved" in approved.out and "Succeeded" in approved.out
    assert f"to {name(prod)}/login: version 1" in approved.out

    unknown = cli("approve", "nope", "-n", name(prod), user="promoter")
    assert unknown.code == 2 and "promotion 'nope' not found" in unknown.err


def test_rollback_and_copy_within_an_environment(cli, kube, running_operator, make_environment):
    dev, staging, prod = promotion_chain(kube, make_environment)
    assert cli("promote", "login", "--from", name(dev), "--to", name(prod), "--version", "1", user="promoter").code == 0
    assert cli("promote", "login", "--from", name(dev), "--to", name(prod), user="promoter").code == 0

    back = cli("rollback", "login", "--to", "1", "-n", name(prod), user="promoter")
    assert back.code == 0, back
    prod_ids = version_ids(kube, ns(prod), "login")
    assert f"promoted {name(prod)}/login@1 to {name(prod)}/login: version 3 ({prod_ids[3]})" in back.out
    assert cli("show", "login", "-n", name(prod)).json() == V1
    newest = cli("history", "login", "-n", name(prod), "-o", "json").json()["versions"][0]
    assert newest["head"] and newest["message"] == f"rollback to version 1 ({prod_ids[1]})"

    again = cli("rollback", "login", "--to", "3", "-n", name(prod), user="promoter")
    assert again.code == 0 and "nothing to roll back" in again.err

    copied = cli("copy", "login", "login-v2", "--version", "2", "-n", name(prod), user="promoter")
    assert copied.code == 0, copied
    assert cli("show", "login-v2", "-n", name(prod)).json() == V2
    exists = cli("copy", "login", "login-v2", "-n", name(prod), user="promoter")
    assert exists.code == 2 and "already exists" in exists.err


def test_promote_user_errors(cli, kube, running_operator, make_environment):
    dev, staging, prod = promotion_chain(kube, make_environment)

    unknown_flow = cli("promote", "signup", "--from", name(dev), "--to", name(staging), user="promoter")
    assert unknown_flow.code == 2 and f"flow 'signup' not found in environment {name(dev)}" in unknown_flow.err
    unknown_env = cli("promote", "login", "--from", "nowhere", "--to", name(staging), user="promoter")
    assert unknown_env.code == 2 and "unknown environment 'nowhere'" in unknown_env.err
    no_source = cli("promote", "login", "--to", name(dev), user="promoter")
    assert no_source.code == 2 and "has no upstream" in no_source.err
    bad_pointer = cli("promote", "login", "--to", name(staging), "--include", "fields", user="promoter")
    assert bad_pointer.code == 2 and "argument --include: invalid JSON Pointer 'fields'" in bad_pointer.err
    uncommitted = cli("promote", "login", "--from", name(prod), "--to", name(prod), "--version", "uncommitted", user="promoter")
    assert uncommitted.code == 2 and "protected" in uncommitted.err
