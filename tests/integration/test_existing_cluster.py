"""FLOWOPS_USE_EXISTING_CLUSTER=1: the suite runs against a cluster it did not start,
with ServiceAccount identities instead of static tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flowops.devcluster.controlplane import ControlPlane

REPO = Path(__file__).resolve().parents[2]


def test_suite_runs_against_an_existing_cluster(tmp_path):
    with ControlPlane() as someone_elses:
        # What a user has: one context, admin credentials, nothing of flowops installed.
        minimal = someone_elses.kubectl("config", "view", "--raw", "--minify", "--flatten").stdout
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_bytes(minimal)
        env = {
            **os.environ,
            "FLOWOPS_USE_EXISTING_CLUSTER": "1",
            "KUBECONFIG": str(kubeconfig),
            "FLOWOPS_TEST_LOG_DIR": str(tmp_path / "logs"),
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "tests/integration/test_protection.py::test_viewer_reads_but_writes_nothing",
                "tests/integration/test_protection.py::test_editor_edits_development_but_not_production",
                "tests/integration/test_foundation.py::test_control_plane_runs_the_built_version_with_rbac",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert "3 passed" in result.stdout
        users = someone_elses.kubectl("get", "serviceaccounts", "-n", "flowops-test-users", "-o", "name").stdout.decode()
        assert "serviceaccount/viewer" in users
