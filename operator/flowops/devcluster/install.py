"""Installs flowops (and optionally the samples) into a running control plane."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import yaml

from .controlplane import ControlPlane

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = REPO / "manifests"
SAMPLES = MANIFESTS / "samples"
# Applied in this order: namespaces and environments before the flows that live in them.
SAMPLE_ORDER = ("namespaces.yaml", "environments.yaml", "dev-users.yaml")


def rendered_manifests(cluster: ControlPlane, with_deployment: bool = False) -> str:
    """The kustomization as the API server will see it; without the Deployment locally,
    because the operator runs as a process here and no kubelet would start its Pods."""
    rendered = cluster.kubectl("kustomize", str(MANIFESTS)).stdout.decode()
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    if not with_deployment:
        docs = [d for d in docs if d.get("kind") != "Deployment"]
    return yaml.safe_dump_all(docs, sort_keys=False)


def install(cluster: ControlPlane) -> None:
    cluster.kubectl("apply", "--server-side", "-f", "-", input=rendered_manifests(cluster))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "-l", "app.kubernetes.io/name!=none", "--all")
    _wait_for_policies(cluster)


def _wait_for_policies(cluster: ControlPlane, timeout: float = 30.0) -> None:
    """Admission policies apply once the API server has loaded them: probe with a dry-run
    write that only the policy refuses (the admin creating a FlowVersion)."""
    probe = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "FlowVersion",
        "metadata": {"name": "policy-probe-00000000000000000001", "namespace": "default"},
        "spec": {
            "flow": "policy-probe",
            "id": "20260101000000000001",
            "number": 1,
            "origin": "Commit",
            "contentHash": "sha256:" + "0" * 64,
            "storage": {"encoding": "Full", "data": "", "bytes": 0},
        },
    }
    # Policies with Environments as params need the Environment kind resolved (503 until
    # then); a Promotion is admitted once the mutating policy stamps its requester.
    environment = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Environment",
        "metadata": {"name": "policy-probe"},
        "spec": {"namespace": "policy-probe", "tier": "Development"},
    }
    promotion = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Promotion",
        "metadata": {"name": "policy-probe", "namespace": "default"},
        "spec": {"source": {"environment": "policy-probe", "flow": "policy-probe"}},
    }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(probe), check=False)
        if result.returncode != 0 and b"flowops operator" in result.stderr:
            if (
                cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(environment), check=False).returncode
                == 0
            ):
                stamped = cluster.kubectl(
                    "create", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(promotion), check=False
                )
                if stamped.returncode == 0 and json.loads(stamped.stdout)["spec"].get("requestedBy"):
                    return
        time.sleep(0.3)
    raise RuntimeError("the flowops admission policies did not take effect within 30s")


def sample_files() -> list[Path]:
    first = [SAMPLES / name for name in SAMPLE_ORDER if (SAMPLES / name).exists()]
    rest = sorted(p for p in SAMPLES.glob("*.yaml") if p not in first)
    return first + rest


def install_samples(cluster: ControlPlane) -> None:
    for path in sample_files():
        try:
            cluster.kubectl("apply", "--server-side", "-f", str(path))
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"applying {path.relative_to(REPO)} failed: {exc}") from None
