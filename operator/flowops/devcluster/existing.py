"""Use a cluster you already have (FLOWOPS_USE_EXISTING_CLUSTER=1 with KUBECONFIG).

The suite needs several identities. On a cluster it did not start it cannot hand out
static tokens, so it creates ServiceAccounts, binds each to the role it stands for, and
requests short-lived tokens for them: the operator's identity is then the real
`flowops-system/flowops-operator` ServiceAccount.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .controlplane import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, ControlPlaneError, default_bin_dir, run_kubectl

USERS_NAMESPACE = "flowops-test-users"
ROLES = {"editor": "flowops-editor", "promoter": "flowops-promoter", "viewer": "flowops-viewer"}


class ExistingCluster:
    """The parts of ControlPlane's interface the tests use, for a cluster we did not start."""

    def __init__(self, kubeconfig: str | None = None, bin_dir: Path | None = None) -> None:
        source = kubeconfig or os.environ.get("KUBECONFIG")
        if not source:
            raise ControlPlaneError("FLOWOPS_USE_EXISTING_CLUSTER=1 needs KUBECONFIG naming the cluster to use")
        self.source_kubeconfig = Path(source)
        self.bin_dir = Path(bin_dir or default_bin_dir())
        self.workdir = Path(tempfile.mkdtemp(prefix="flowops-existing-"))
        self.kubeconfig = self.workdir / "kubeconfig"
        self.started_seconds = 0.0

    def binary(self, name: str) -> str:
        path = self.bin_dir / name
        if not path.exists():
            raise ControlPlaneError(f"{path} does not exist: build it with `make control-plane`")
        return str(path)

    def start(self) -> ExistingCluster:
        config = json.loads(self._kubectl_raw("config", "view", "--raw", "--flatten", "-o", "json").stdout)
        current = config["current-context"]
        context = next(c for c in config["contexts"] if c["name"] == current)["context"]
        config["contexts"] = [c for c in config["contexts"] if c["name"] != "flowops-admin"]
        config["contexts"].append({"name": "flowops-admin", "context": dict(context)})
        config["current-context"] = "flowops-admin"
        self.kubeconfig.write_text(json.dumps(config))
        self.kubeconfig.chmod(0o600)
        return self

    def add_identities(self) -> None:
        """ServiceAccounts for each role (call after flowops' RBAC is installed)."""
        self.kubectl("create", "namespace", USERS_NAMESPACE, check=False)
        tokens = {"operator": self._token(OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT)}
        for user, role in ROLES.items():
            self.kubectl("create", "serviceaccount", user, "-n", USERS_NAMESPACE, check=False)
            self.kubectl(
                "create",
                "clusterrolebinding",
                f"flowops-test-{user}",
                f"--clusterrole={role}",
                f"--serviceaccount={USERS_NAMESPACE}:{user}",
                check=False,
            )
            tokens[user] = self._token(USERS_NAMESPACE, user)
        config = json.loads(self.kubeconfig.read_text())
        cluster = next(c for c in config["contexts"] if c["name"] == "flowops-admin")["context"]["cluster"]
        for user, token in tokens.items():
            config["users"] = [u for u in config["users"] if u["name"] != f"flowops-test-{user}"]
            config["users"].append({"name": f"flowops-test-{user}", "user": {"token": token}})
            config["contexts"] = [c for c in config["contexts"] if c["name"] != f"flowops-{user}"]
            config["contexts"].append(
                {"name": f"flowops-{user}", "context": {"cluster": cluster, "user": f"flowops-test-{user}"}}
            )
        self.kubeconfig.write_text(json.dumps(config))

    def _token(self, namespace: str, name: str) -> str:
        return self.kubectl("create", "token", name, "-n", namespace, "--duration=2h").stdout.decode().strip()

    def stop(self) -> None:
        """Leaves the cluster running: it is not ours."""

    def kubectl(
        self, *args: str, user: str = "admin", input: str | bytes | None = None, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess:
        return run_kubectl(self.binary("kubectl"), self.kubeconfig, f"flowops-{user}", args, input, check, timeout)

    def _kubectl_raw(self, *args: str) -> subprocess.CompletedProcess:
        return run_kubectl(self.binary("kubectl"), self.source_kubeconfig, None, args, timeout=60)

    def etcd_rewrite(self, key: str, change: Any) -> None:
        raise ControlPlaneError(
            "etcd is not reachable on an existing cluster: stored objects are rewritten on the local control plane only"
        )

    def restart_apiserver(self, timeout: float = 120.0) -> float:
        raise ControlPlaneError(
            "the API server of an existing cluster is not ours to restart: run this on the local control plane"
        )

    def etcd_value_sizes(self, prefix: str) -> dict[str, int]:
        raise ControlPlaneError(
            "etcd is not reachable on an existing cluster: storage is measured on the local control plane only"
        )
