"""`kubectl flowops check` against the cluster: the plan against HEAD, as a CI job runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from flowops.kube import FLOWS
from flowops.testing.objects import barrier, flow, wait_for_number

COMMAND = Path(sys.executable).parent / "kubectl-flowops"
TITLE_RULE = [{"name": "title-not-empty", "expression": "content.title != ''", "message": "set /title"}]


def check(cluster, *args, user="viewer"):
    cmd = [str(COMMAND), "check", *args, "--kubeconfig", str(cluster.kubeconfig), "--context", f"flowops-{user}"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": ""})
    assert "Traceback" not in result.stderr, result.stderr
    return result


def manifest(namespace, content, cause=None):
    body = flow("login", content, annotations={"flowops.io/change-cause": cause} if cause else None)
    body["metadata"]["namespace"] = namespace
    return body


def test_check_plans_against_head_with_the_viewer_role_and_writes_nothing(
    kube, cluster, running_operator, make_environment, tmp_path
):
    env = make_environment(policy={"guardrails": TITLE_RULE})
    n = env["spec"]["namespace"]
    kube.create(FLOWS, manifest(n, {"title": "Sign in", "locale": "en"}, cause="first"), n)
    wait_for_number(kube, n, "login", 1)
    barrier(kube, FLOWS, n, "login")  # the operator is done with it: later writes would be the check's
    before = kube.get(FLOWS, "login", n)["metadata"]["resourceVersion"]

    path = tmp_path / "login.yaml"
    path.write_text(yaml.safe_dump(manifest(n, {"title": "Log in", "locale": "en"}, cause="first")))
    result = check(cluster, "-f", str(tmp_path), "-o", "json")
    assert result.returncode == 0, result
    (report,) = json.loads(result.stdout)["flows"]
    assert report["verdict"] == "Pass" and report["plan"] == "NewVersion" and report["against"] == 1
    assert report["changes"] == [{"op": "replace", "path": "/title", "old": "Sign in", "new": "Log in"}]
    assert report["message"] == "content changed; change-cause unchanged since version 1"

    path.write_text(yaml.safe_dump(manifest(n, {"title": "", "locale": "en"}, cause="empty title")))
    result = check(cluster, "-f", str(path))
    assert result.returncode == 1, result
    assert "title-not-empty" in result.stdout and "set /title" in result.stdout
    assert kube.get(FLOWS, "login", n)["metadata"]["resourceVersion"] == before
