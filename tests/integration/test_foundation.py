"""The foundation: a real control plane with RBAC, the CRDs, the samples, admission-time
validation, and the operator process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from flowops.devcluster import install
from flowops.kube import FLOWS, FLOWVERSIONS
from flowops.testing.objects import flow, wait_for_number
from flowops.testing.waiting import wait_for

CRD_KINDS = {"Environment", "Flow", "FlowVersion", "Promotion", "Application", "ApiClient"}


def test_control_plane_runs_the_built_version_with_rbac(cluster):
    version = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == version["clientVersion"]["gitVersion"]
    assert version["serverVersion"]["gitVersion"].startswith("v1.")
    assert (
        cluster.kubectl("auth", "can-i", "create", "flows.flowops.io", "-n", "default", user="viewer", check=False).stdout.strip()
        == b"no"
    )
    assert cluster.kubectl("auth", "can-i", "create", "flows.flowops.io", "-n", "default", user="admin").stdout.strip() == b"yes"
    denied = cluster.kubectl("create", "namespace", "viewer-was-here", user="viewer", check=False)
    assert denied.returncode != 0 and b"forbidden" in denied.stderr


def test_every_crd_is_established_with_category_and_docs(cluster):
    listed = cluster.kubectl("api-resources", "--categories=flowops", "-o", "name").stdout.decode().split()
    assert {n.split(".")[0] for n in listed} == {
        "environments",
        "flows",
        "flowversions",
        "promotions",
        "applications",
        "apiclients",
    }
    explained = cluster.kubectl("explain", "flow.spec.versioning").stdout.decode()
    assert "Manual leaves changes" in explained
    assert cluster.kubectl("get", "flowops", "-A").returncode == 0


def test_samples_apply_server_side(cluster, kube):
    for path in install.sample_files():
        result = cluster.kubectl("apply", "--server-side", "-f", str(path), check=False)
        assert result.returncode == 0, (path.name, result.stderr.decode())
    kinds = {d["kind"] for p in install.sample_files() for d in yaml.safe_load_all(p.read_text()) if d}
    assert {"Environment", "Flow", "Application", "ApiClient"} <= kinds


BAD_MANIFESTS = {
    "wrong tier": (
        {"kind": "Environment", "metadata": {"name": "bad-tier"}, "spec": {"namespace": "x", "tier": "Prod"}},
        "spec.tier",
    ),
    "negative history limit": (
        {
            "kind": "Environment",
            "metadata": {"name": "bad-limit"},
            "spec": {"namespace": "x", "tier": "Development", "policy": {"historyLimit": -1}},
        },
        "spec.policy.historyLimit",
    ),
    "unprotected production": (
        {
            "kind": "Environment",
            "metadata": {"name": "bad-prod"},
            "spec": {"namespace": "x", "tier": "Production", "protected": False},
        },
        "always protected",
    ),
    "own upstream": (
        {"kind": "Environment", "metadata": {"name": "loop"}, "spec": {"namespace": "x", "tier": "Staging", "upstream": "loop"}},
        "spec.upstream",
    ),
    "rule with builtin and expression": (
        {
            "kind": "Environment",
            "metadata": {"name": "bad-rule"},
            "spec": {
                "namespace": "x",
                "tier": "Development",
                "policy": {"guardrails": [{"name": "r", "builtin": "formFieldsExist", "expression": "true"}]},
            },
        },
        "exactly one of builtin",
    ),
    "unknown transition": (
        {"kind": "Flow", "metadata": {"name": "f", "namespace": "default"}, "spec": {"content": {}, "transition": "Teleport"}},
        "spec.transition",
    ),
    "flow without content": ({"kind": "Flow", "metadata": {"name": "f", "namespace": "default"}, "spec": {}}, "spec.content"),
    "unknown versioning mode": (
        {
            "kind": "Flow",
            "metadata": {"name": "f", "namespace": "default"},
            "spec": {"content": {}, "versioning": {"mode": "Sometimes"}},
        },
        "spec.versioning.mode",
    ),
    "flow name too long": (
        {"kind": "Flow", "metadata": {"name": "f" * 64, "namespace": "default"}, "spec": {"content": {}}},
        "characters: a Flow name has at most 63",
    ),
    "promotion without source flow": (
        {
            "kind": "Promotion",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"environment": "development"}},
        },
        "spec.source.flow",
    ),
    "bad version selector": (
        {
            "kind": "Promotion",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"environment": "d", "flow": "f", "version": "HEAD~1"}},
        },
        "spec.source.version",
    ),
    "version id with month 13": (
        {
            "kind": "Promotion",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"environment": "d", "flow": "f", "version": "20261321093012123456"}},
        },
        "spec.source.version",
    ),
    "client pins a version id with hour 25": (
        {
            "kind": "ApiClient",
            "metadata": {"name": "c", "namespace": "default"},
            "spec": {"defaultFlow": {"name": "f", "version": "20261121253012123456"}},
        },
        "spec.defaultFlow.version",
    ),
    "source environment not a name": (
        {
            "kind": "Promotion",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"environment": "Staging", "flow": "f"}},
        },
        "spec.source.environment",
    ),
    "include of the whole document": (
        {
            "kind": "Promotion",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"environment": "d", "flow": "f"}, "changes": {"include": [""]}},
        },
        "spec.changes.include[0]",
    ),
    "approvals reserved to no group": (
        {
            "kind": "Environment",
            "metadata": {"name": "no-group"},
            "spec": {"namespace": "x", "tier": "Development", "policy": {"promotion": {"approverGroups": []}}},
        },
        "spec.policy.promotion.approverGroups",
    ),
    "allowed source not a name": (
        {
            "kind": "Environment",
            "metadata": {"name": "bad-source"},
            "spec": {"namespace": "x", "tier": "Development", "policy": {"promotion": {"allowedSources": ["Dev"]}}},
        },
        "spec.policy.promotion.allowedSources[0]",
    ),
    "include pointer without slash": (
        {
            "kind": "Promotion",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"environment": "d", "flow": "f"}, "changes": {"include": ["forms/signInForm"]}},
        },
        "spec.changes.include",
    ),
    "client asks for uncommitted": (
        {
            "kind": "ApiClient",
            "metadata": {"name": "c", "namespace": "default"},
            "spec": {"defaultFlow": {"name": "f", "version": "uncommitted"}},
        },
        "spec.defaultFlow.version",
    ),
    "bad target exists policy": (
        {
            "kind": "Promotion",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"environment": "d", "flow": "f"}, "ifTargetExists": "Merge"},
        },
        "spec.ifTargetExists",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest_is_refused_naming_the_field(cluster, case):
    manifest, expected = BAD_MANIFESTS[case]
    manifest = {"apiVersion": "flowops.io/v1alpha1", **manifest}
    result = cluster.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(manifest), check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert expected in result.stderr.decode(), result.stderr.decode()


def test_operator_starts_stays_healthy_and_stops_cleanly(operator, kube, make_environment):
    from flowops.testing.operatorproc import in_place_of

    with in_place_of(operator, "lifecycle.log", {}) as process:
        # Stays healthy through real work (a barrier), not through a few idle seconds.
        env = make_environment()
        kube.create(FLOWS, flow("lifecycle", {"title": "t"}), env["spec"]["namespace"])
        wait_for_number(kube, env["spec"]["namespace"], "lifecycle", 1)
        # One answer, allowed the Deployment's probe timeout: when Kopf's cached answer is
        # older than 10 s the API probe runs, and a busy API server can take seconds.
        assert process.healthy(timeout=5)
        assert process.stop() == 0
        assert not process.alive()
        assert "Traceback" not in process.tail(400)


def test_liveness_answers_while_every_handler_thread_is_held(operator, kube, make_environment):
    """The one handler thread is held (as a hung API call holds it) for longer than Kopf
    keeps a probe's answer: each /healthz meanwhile, the fresh API probe among them, answers
    within the Deployment's 5 s."""
    from flowops.testing.operatorproc import in_place_of

    held = 20
    # Only its own flow is held: flows left by earlier tests, resumed first, pass.
    stall = {"FLOWOPS_MAX_WORKERS": "1", "FLOWOPS_STALL_AT": f"flow-reconcile:{held}", "FLOWOPS_STALL_FOR": "held"}
    with in_place_of(operator, "held-handlers.log", stall, grace=held + 5) as process:
        env = make_environment()
        namespace = env["spec"]["namespace"]
        kube.create(FLOWS, flow("held", {"title": "t"}), namespace)
        # Held in the handler thread: an Environment's re-evaluation threads, outside the
        # one-worker limit, may reach the flow too.
        own_stall = f"stalled at flow-reconcile for {namespace}/held in flowops-handler"
        wait_for(lambda: own_stall in process.tail(lines=2000), message="the handler thread to be held")
        began = time.monotonic()
        answers = []
        while time.monotonic() - began < 13:  # past Kopf's 10 s cache: the API probe runs again
            asked = time.monotonic()
            answers.append((process.healthy(timeout=5), round(time.monotonic() - asked, 2)))
        assert all(ok for ok, _ in answers), answers
        assert not _versions(kube, env, "held"), "the thread was still held when the last answer came"


# How long the reconcile of one chosen flow is held, so that a deletion lands during it.
HELD = 3


@contextmanager
def _reconcile_held(operator, log_name: str, flow_name: str):
    from flowops.testing.operatorproc import in_place_of

    stall = {"FLOWOPS_STALL_AT": f"flow-reconcile:{HELD}", "FLOWOPS_STALL_FOR": flow_name}
    with in_place_of(operator, log_name, stall, grace=HELD + 5) as process:
        yield process


def _held(process, namespace: str, flow_name: str, thread: str) -> None:
    wait_for(
        lambda: f"stalled at flow-reconcile for {namespace}/{flow_name} in {thread}" in process.tail(lines=2000),
        message=f"the reconcile of {flow_name} to be held in {thread}",
    )


def _ends_quietly(process, said: str, *about: str) -> None:
    """The held work ends with an INFO line saying why, and no line about `about` is an
    error, a retry or a failed re-evaluation."""
    wait_for(lambda: said in process.tail(lines=2000), timeout=HELD + 30, message=f"the work to end saying {said!r}")
    ours = [line for line in process.tail(lines=4000).splitlines() if any(a in line for a in about)]
    assert not [line for line in ours if "ERROR" in line or "try again" in line or "not be re-evaluated" in line], ours


def test_a_flow_deleted_while_its_reconcile_runs_is_let_go_without_an_error(operator, kube, make_environment):
    """Deleting a Flow (a namespace torn down, a GitOps prune) while the operator reconciles
    it is ordinary: the reconcile ends with a line saying so, not with an ERROR, a
    traceback and a retry of an object that is gone."""
    with _reconcile_held(operator, "deleted-meanwhile.log", "doomed") as process:
        env = make_environment()
        namespace = env["spec"]["namespace"]
        kube.create(FLOWS, flow("doomed", {"title": "t"}), namespace)
        _held(process, namespace, "doomed", "flowops-handler")
        kube.delete(FLOWS, "doomed", namespace)
        # Its Environment, new too, may re-evaluate the flow meanwhile: that ends without an error too.
        _ends_quietly(
            process,
            f"flow {namespace}/doomed was deleted while it was reconciled",
            f"{namespace}/doomed",
            env["metadata"]["name"],
        )
        assert "Traceback" not in process.tail(lines=4000)


def test_a_flow_whose_namespace_is_being_deleted_is_let_go_without_an_error(operator, kube, make_environment):
    """The same when its whole namespace is deleted: the API server refuses every create
    there (its version) until the namespace is gone; that is no failure to retry."""
    from flowops.kube import CONFIGMAPS, NAMESPACES

    with _reconcile_held(operator, "namespace-deleted-meanwhile.log", "late") as process:
        namespace = make_environment()["spec"]["namespace"]
        # Keeps the namespace terminating, as content that takes time to delete does.
        hold = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hold", "finalizers": ["flowops.io/test-hold"]}}
        kube.create(CONFIGMAPS, hold, namespace)
        try:
            kube.create(FLOWS, flow("late", {"title": "t"}), namespace)
            _held(process, namespace, "late", "flowops-handler")
            kube.delete(NAMESPACES, namespace)
            _ends_quietly(process, f"namespace {namespace} is being deleted: flow late is not committed", f"{namespace}/late")
        finally:
            kube.merge_patch(CONFIGMAPS, "hold", {"metadata": {"finalizers": None}}, namespace)


def test_an_environment_deleted_while_it_reevaluates_its_flows_is_let_go_without_an_error(operator, kube, make_environment):
    """The same for an Environment deleted while new guardrails are applied to its flows."""
    from flowops.kube import ENVIRONMENTS

    with _reconcile_held(operator, "environment-deleted-meanwhile.log", "judged") as process:
        env = make_environment()
        name, namespace = env["metadata"]["name"], env["spec"]["namespace"]
        wait_for(lambda: (kube.get(ENVIRONMENTS, name).get("status") or {}).get("observedGeneration") == 1, timeout=30)
        kube.create(FLOWS, flow("judged", {"title": "t"}), namespace)
        rule = {"name": "titled", "expression": "has(content.title)", "message": "add /title"}
        kube.merge_patch(ENVIRONMENTS, name, {"spec": {"policy": {"guardrails": [rule]}}})
        _held(process, namespace, "judged", "reevaluate")
        kube.delete(ENVIRONMENTS, name)
        _ends_quietly(process, f"environment {name} was deleted while it was reconciled", f"[{name}]")


def _versions(kube, env, name):
    return [v for v in kube.list(FLOWVERSIONS, env["spec"]["namespace"]) if v["spec"]["flow"] == name]


def test_make_run_brings_everything_up_and_ctrl_c_stops_it(tmp_path):
    """`make run`'s entry point, end to end: the export line works and Ctrl-C leaves nothing."""
    workdir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "flowops.devcluster", "run", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 120
        export = None
        while time.monotonic() < deadline and export is None:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip().startswith("export KUBECONFIG="):
                export = line.strip().split("=", 1)[1]
        assert export, "".join(lines)
        kubectl = str(Path(os.environ.get("FLOWOPS_BIN_DIR", "")) / "kubectl") if os.environ.get("FLOWOPS_BIN_DIR") else None
        from flowops.devcluster.controlplane import default_bin_dir

        kubectl = kubectl or str(default_bin_dir() / "kubectl")
        env = {**os.environ, "KUBECONFIG": export}
        flows = wait_for(
            lambda: (
                json.loads(
                    subprocess.run([kubectl, "get", "flows", "-A", "-o", "json"], env=env, capture_output=True).stdout or b"{}"
                ).get("items")
                or None
            ),
            timeout=60,
            message="sample flows",
        )
        assert any(f["metadata"]["name"] == "standard" for f in flows)
        wait_for(
            lambda: subprocess.run(
                [kubectl, "get", "flow", "standard", "-n", "flowops-development", "-o", "jsonpath={.status.latestReadyVersion}"],
                env=env,
                capture_output=True,
            ).stdout.strip(),
            timeout=60,
            message="the operator versioning the sample flow",
        )
        # The sample flow is promoted to staging and production and rendered with each one's values.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any("flowops-production/web-frontend-flow" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        shown = "".join(lines)
        for namespace, url in (
            ("development", "https://auth.dev.example.com/"),
            ("staging", "https://auth.staging.example.com/"),
            ("production", "https://auth.example.com/"),
        ):
            assert any(f"flowops-{namespace}/web-frontend-flow" in line and url in line for line in lines), shown
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "stopped: control plane and operator are down" in out
    leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True).stdout.split()
    assert not leftovers, f"processes left behind: {leftovers}"
