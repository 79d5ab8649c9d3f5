"""Flux (source-controller + kustomize-controller) as local processes against a ControlPlane.

The binaries and CRDs come from `hack/flux/build.sh` (cached outside the checkout). Each
controller runs as its own ServiceAccount (a real token, RBAC on), every listener on a
free loopback port; they die with the process that started them.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from .controlplane import Component, ControlPlane, ControlPlaneError, free_port

REPO = Path(__file__).resolve().parents[3]
NAMESPACE = "flux-system"
CONTROLLERS = ("source-controller", "kustomize-controller")


def default_flux_dir() -> Path:
    """The cache directory build.sh fills (bin/ and crds/)."""
    if env := os.environ.get("FLOWOPS_FLUX_DIR"):
        return Path(env)
    version = "unknown"
    versions = REPO / "hack" / "flux" / "versions.env"
    if versions.exists():
        for line in versions.read_text().splitlines():
            if line.startswith("SOURCE_CONTROLLER_VERSION="):
                version = line.split("=", 1)[1].strip()
    cache = Path(
        os.environ.get("FLOWOPS_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flowops"
    )
    return cache / f"flux-{version}"


# What the controllers themselves may do. kustomize-controller applies nothing as itself:
# every Kustomization names a ServiceAccount it impersonates (see docs/gitops.md).
CONTROLLER_ROLE: dict[str, Any] = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "flux-controller"},
    "rules": [
        {"apiGroups": ["source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io"], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": [""], "resources": ["secrets", "configmaps", "namespaces"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch", "impersonate"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]},
    ],
}


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Flux:
    """`Flux(cluster, workdir).start()` installs the CRDs and identities, starts both
    controllers and waits until both are healthy."""

    def __init__(self, cluster: ControlPlane, workdir: Path, flux_dir: Path | None = None) -> None:
        self.cluster = cluster
        self.workdir = Path(workdir)
        self.dir = Path(flux_dir or default_flux_dir())
        self.components: dict[str, Component] = {}
        self.health_ports: dict[str, int] = {}

    def binary(self, name: str) -> str:
        path = self.dir / "bin" / name
        if not path.exists():
            raise ControlPlaneError(f"{path} does not exist: build Flux first with `make flux`")
        return str(path)

    def start(self, timeout: float = 90.0) -> Flux:
        for name in CONTROLLERS:
            self.binary(name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._install()
        storage = self.workdir / "artifacts"
        storage.mkdir(exist_ok=True)
        storage_port = free_port()
        extra = {
            "source-controller": [
                f"--storage-path={storage}",
                f"--storage-addr=127.0.0.1:{storage_port}",
                f"--storage-adv-addr=127.0.0.1:{storage_port}",
            ],
            "kustomize-controller": ["--no-remote-bases=true"],
        }
        try:
            for name in CONTROLLERS:
                self._start(name, extra[name])
            self._wait_healthy(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for component in reversed(list(self.components.values())):
            component.stop()
        self.components.clear()

    def check_health(self) -> None:
        for component in self.components.values():
            if not component.alive():
                raise ControlPlaneError(f"{component.name} exited:\n{component.tail()}")

    def username(self, controller: str) -> str:
        return f"system:serviceaccount:{NAMESPACE}:{controller}"

    # -- internals ----------------------------------------------------------------------
    def _install(self) -> None:
        kubectl = self.cluster.kubectl
        kubectl("apply", "--server-side", "-f", str(self.dir / "crds"))
        docs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, CONTROLLER_ROLE]
        for name in CONTROLLERS:
            docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": NAMESPACE}})
            docs.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": f"flux-{name}"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": CONTROLLER_ROLE["metadata"]["name"],
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": NAMESPACE}],
                }
            )
        kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(docs))
        kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd",
            "gitrepositories.source.toolkit.fluxcd.io",
            "kustomizations.kustomize.toolkit.fluxcd.io",
        )

    def _kubeconfig(self, controller: str) -> Path:
        token = self.cluster.kubectl("create", "token", controller, "-n", NAMESPACE, "--duration=48h").stdout.decode().strip()
        config = yaml.safe_load(self.cluster.kubeconfig.read_text())
        context = next(c for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c for c in config["clusters"] if c["name"] == context["context"]["cluster"])
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": [{"name": controller, "user": {"token": token}}],
            "contexts": [{"name": controller, "context": {"cluster": cluster["name"], "user": controller}}],
            "current-context": controller,
        }
        path = self.workdir / f"kubeconfig-{controller}"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return path

    def _start(self, name: str, extra: list[str]) -> None:
        health = free_port()
        self.health_ports[name] = health
        args = [
            self.binary(name),
            f"--metrics-addr=127.0.0.1:{free_port()}",
            f"--health-addr=127.0.0.1:{health}",
            "--enable-leader-election=false",
            "--log-level=info",
            *extra,
        ]
        env = {"KUBECONFIG": str(self._kubeconfig(name)), "RUNTIME_NAMESPACE": NAMESPACE}
        component = Component(name, args, self.workdir / f"{name}.log", env=env)
        self.components[name] = component
        component.start()

    def _wait_healthy(self, deadline: float) -> None:
        pending = dict(self.health_ports)
        while pending and time.monotonic() < deadline:
            self.check_health()
            for name, port in list(pending.items()):
                if _http_ok(f"http://127.0.0.1:{port}/readyz"):
                    del pending[name]
            time.sleep(0.2)
        if pending:
            name = next(iter(pending))
            raise ControlPlaneError(f"{name} not ready within the start-up deadline:\n{self.components[name].tail()}")
