"""A real local control plane (etcd, kube-apiserver, kube-controller-manager) on loopback.

Used by the test suite and by `make run`. Every process it starts dies with it: children
get PDEATHSIG, and stop() terminates them and waits, so no ports or processes are left.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pki as pki_module

OPERATOR_NAMESPACE = "flowops-system"
OPERATOR_SERVICE_ACCOUNT = "flowops-operator"
OPERATOR_USERNAME = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"


class ControlPlaneError(RuntimeError):
    """The control plane could not be started; the message carries the failing logs."""


class KubectlError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{' '.join(self.cmd[3:])} exited {self.returncode}: {self.stderr.decode(errors='replace').strip()}"


@dataclass(frozen=True)
class User:
    context: str
    username: str
    groups: tuple[str, ...] = ()
    token: str = field(default_factory=lambda: secrets.token_hex(24))


def default_users() -> list[User]:
    return [
        User("admin", "flowops-admin", ("system:masters",)),
        User(
            "operator",
            OPERATOR_USERNAME,
            ("system:serviceaccounts", f"system:serviceaccounts:{OPERATOR_NAMESPACE}"),
        ),
        User("editor", "alice-editor", ("flowops:editors",)),
        User("promoter", "bob-promoter", ("flowops:promoters",)),
        User("viewer", "carol-viewer", ("flowops:viewers",)),
        # A second person: approves what the promoter asks for (separation of duties).
        User("approver", "dave-approver", ("flowops:approvers",)),
        # No group bindings: tests grant this user namespace-scoped RoleBindings only.
        User("scoped", "erin-scoped", ("flowops:team-a",)),
        # A GitOps sync's own identity (a Kustomization's spec.serviceAccountName, applying from git).
        User(
            "gitops",
            "system:serviceaccount:flux-system:flowops-applier",
            ("system:serviceaccounts", "system:serviceaccounts:flux-system"),
        ),
        # Bound by the API server's bootstrap RBAC, like a real control plane's component.
        User("controller-manager", "system:kube-controller-manager"),
    ]


def run_kubectl(
    binary: str,
    kubeconfig: Path,
    context: str | None,
    args: Sequence[str],
    input: str | bytes | None = None,
    check: bool = True,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess:
    cmd = [binary, "--kubeconfig", str(kubeconfig), *(["--context", context] if context else []), *args]
    data = input.encode() if isinstance(input, str) else input
    result = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise KubectlError(result.returncode, cmd, result.stdout, result.stderr)
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: the child is killed when the process that started it dies,
    # even by SIGKILL, so a crashed test run leaves no orphans.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


@dataclass
class Component:
    name: str
    args: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    env: dict[str, str] | None = None  # added to this process's environment

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env} if self.env else None,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def default_bin_dir() -> Path:
    if env := os.environ.get("FLOWOPS_BIN_DIR"):
        return Path(env)
    versions = Path(__file__).resolve().parents[3] / "hack" / "control-plane" / "versions.env"
    version = "unknown"
    if versions.exists():
        for line in versions.read_text().splitlines():
            if line.startswith("KUBERNETES_VERSION="):
                version = line.split("=", 1)[1].strip()
    cache = Path(
        os.environ.get("FLOWOPS_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flowops"
    )
    return cache / version / "bin"


class ControlPlane:
    """Starts and stops etcd + kube-apiserver (+ kube-controller-manager) on loopback."""

    def __init__(
        self,
        bin_dir: Path | None = None,
        workdir: Path | None = None,
        users: Sequence[User] | None = None,
        controller_manager: bool = True,
        log: Callable[[str], object] = print,
    ) -> None:
        self.bin_dir = Path(bin_dir or default_bin_dir())
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="flowops-cp-"))
        self.users = {u.context: u for u in (users or default_users())}
        self.with_controller_manager = controller_manager
        self.components: list[Component] = []
        self.log = log
        self.apiserver_port = 0
        self.etcd_port = 0
        self.started_seconds = 0.0

    # -- public API -------------------------------------------------------------------
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"

    @property
    def etcd_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def binary(self, name: str) -> str:
        path = self.bin_dir / name
        if not path.exists():
            raise ControlPlaneError(f"{path} does not exist: build the control plane first with `make control-plane`")
        return str(path)

    def start(self, timeout: float = 120.0) -> ControlPlane:
        began = time.monotonic()
        for name in ("etcd", "kube-apiserver", "kubectl"):
            self.binary(name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = pki_module.generate(self.workdir / "pki")
        self._write_token_file()
        try:
            self._start_etcd(deadline=began + timeout)
            self._start_apiserver(deadline=began + timeout)
            self._write_kubeconfig()
            if self.with_controller_manager:
                self._start_controller_manager()
            self._wait_for_default_namespace(deadline=began + timeout)
        except BaseException:
            self.stop()
            raise
        self.started_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        for component in reversed(self.components):
            component.stop()
        self.components.clear()
        if self._own_workdir and os.environ.get("FLOWOPS_KEEP_CLUSTER_DIR") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kubectl(
        self, *args: str, user: str = "admin", input: str | bytes | None = None, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess:
        return run_kubectl(self.binary("kubectl"), self.kubeconfig, f"flowops-{user}", args, input, check, timeout)

    def etcd_value_sizes(self, prefix: str) -> dict[str, int]:
        """Key → size of the stored value for every etcd key under `prefix` (etcd's v3 JSON
        gateway): what objects really cost in storage."""
        sizes: dict[str, int] = {}
        start, end = prefix.encode(), prefix.encode()[:-1] + bytes([prefix.encode()[-1] + 1])
        while True:
            body = {"key": base64.b64encode(start).decode(), "range_end": base64.b64encode(end).decode(), "limit": 200}
            result = self._etcd("range", body)
            kvs = result.get("kvs") or []
            for kv in kvs:
                sizes[base64.b64decode(kv["key"]).decode()] = len(base64.b64decode(kv.get("value", "")))
            if not result.get("more") or not kvs:
                return sizes
            start = base64.b64decode(kvs[-1]["key"]) + b"\x00"

    def etcd_rewrite(self, key: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Rewrites one stored object in etcd, bypassing the API server and its validation:
        how an object stored under an older CRD (before a rule existed) looks to it."""
        found = self._etcd("range", {"key": base64.b64encode(key.encode()).decode()}).get("kvs") or []
        if not found:
            raise ControlPlaneError(f"etcd has no key {key}")
        stored = json.loads(base64.b64decode(found[0]["value"]))
        change(stored)
        value = base64.b64encode(json.dumps(stored).encode()).decode()
        self._etcd("put", {"key": base64.b64encode(key.encode()).decode(), "value": value})

    def _etcd(self, call: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.etcd_endpoint}/v3/kv/{call}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def token(self, user: str) -> str:
        return self.users[user].token

    def restart_apiserver(self, timeout: float = 120.0) -> float:
        """Stops kube-apiserver and starts it again on the same port, as an upgrade or a
        crash would: every client's watch ends and the new server's watch cache starts
        from etcd. Returns the seconds until it was ready again."""
        apiserver = next(c for c in self.components if c.name == "kube-apiserver")
        began = time.monotonic()
        apiserver.stop()
        apiserver.start()
        self._wait(apiserver, began + timeout, self._apiserver_ready, "did not become ready (/readyz) after a restart")
        return time.monotonic() - began

    def check_health(self) -> None:
        for component in self.components:
            if not component.alive():
                raise ControlPlaneError(f"{component.name} exited:\n{component.tail()}")

    # -- internals ----------------------------------------------------------------------
    def _component(self, name: str, args: list[str]) -> Component:
        component = Component(name, args, self.workdir / f"{name}.log")
        self.components.append(component)
        component.start()
        return component

    def _fail(self, component: Component, what: str) -> ControlPlaneError:
        return ControlPlaneError(f"{component.name} {what}. Last log lines:\n{component.tail()}")

    def _write_token_file(self) -> None:
        lines = []
        for user in self.users.values():
            groups = ",".join(user.groups)
            lines.append(f'{user.token},{user.username},{user.username},"{groups}"')
        path = self.workdir / "tokens.csv"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)

    def _start_etcd(self, deadline: float) -> None:
        self.etcd_port, peer_port = free_port(), free_port()
        etcd = self._component(
            "etcd",
            [
                self.binary("etcd"),
                "--name=flowops",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={self.etcd_endpoint}",
                f"--advertise-client-urls={self.etcd_endpoint}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=flowops=http://127.0.0.1:{peer_port}",
                # A test cluster need not survive power loss; fsync dominates on shared disks.
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        self._wait(etcd, deadline, lambda: self._http_ok(f"{self.etcd_endpoint}/health"), "did not become healthy")

    def _start_apiserver(self, deadline: float) -> None:
        self.apiserver_port = free_port()
        apiserver = self._component(
            "kube-apiserver",
            [
                self.binary("kube-apiserver"),
                f"--etcd-servers={self.etcd_endpoint}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # No kubelets or Services here: a loopback address needs no endpoint reconciling.
                "--endpoint-reconciler-type=none",
                f"--secure-port={self.apiserver_port}",
                f"--tls-cert-file={self.pki.serving_cert}",
                f"--tls-private-key-file={self.pki.serving_key}",
                f"--client-ca-file={self.pki.ca_cert}",
                f"--token-auth-file={self.workdir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--anonymous-auth=false",
                f"--service-account-key-file={self.pki.sa_public_key}",
                f"--service-account-signing-key-file={self.pki.sa_private_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                # Off, as hardened clusters run it, unless profiling the API server (docs/benchmarks.md).
                f"--profiling={'true' if os.environ.get('FLOWOPS_APISERVER_PROFILING') == '1' else 'false'}",
                "--v=1",
            ],
        )
        self._wait(apiserver, deadline, self._apiserver_ready, "did not become ready (/readyz)")

    def _start_controller_manager(self) -> None:
        self._component(
            "kube-controller-manager",
            [
                self.binary("kube-controller-manager"),
                f"--kubeconfig={self._kubeconfig_for('controller-manager')}",
                # Each controller gets its own ServiceAccount identity, as in a real cluster;
                # admission policies can then tell the garbage collector apart from a user.
                "--use-service-account-credentials=true",
                # clusterrole-aggregation: the built-in view, edit and admin roles carry
                # flowops's roles, as they do in any cluster.
                "--controllers=garbagecollector,namespace,serviceaccount,serviceaccount-token,root-ca-cert-publisher,"
                "validatingadmissionpolicy-status-controller,clusterrole-aggregation",
                f"--service-account-private-key-file={self.pki.sa_private_key}",
                f"--root-ca-file={self.pki.ca_cert}",
                "--leader-elect=false",
                "--secure-port=0",
                "--concurrent-gc-syncs=5",
                "--v=1",
            ],
        )

    def _wait(self, component: Component, deadline: float, probe: Callable[[], bool], what: str) -> None:
        while time.monotonic() < deadline:
            if not component.alive():
                raise self._fail(component, "exited during start-up")
            if probe():
                return
            time.sleep(0.25)
        raise self._fail(component, what + " within the start-up deadline")

    def _http_ok(self, url: str, headers: dict | None = None, context: ssl.SSLContext | None = None) -> bool:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2, context=context) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.pki.ca_cert))

    def _apiserver_ready(self) -> bool:
        return self._http_ok(
            f"{self.server}/readyz",
            {"Authorization": f"Bearer {self.token('admin')}"},
            self._ssl_context(),
        )

    def _wait_for_default_namespace(self, deadline: float) -> None:
        apiserver = next(c for c in self.components if c.name == "kube-apiserver")
        url = f"{self.server}/api/v1/namespaces/default"
        while time.monotonic() < deadline:
            self.check_health()
            if self._http_ok(url, {"Authorization": f"Bearer {self.token('admin')}"}, self._ssl_context()):
                return
            time.sleep(0.25)
        raise self._fail(apiserver, "never created the default namespace")

    def _kubeconfig_for(self, context: str) -> Path:
        path = self.workdir / f"kubeconfig-{context}"
        config = json.loads(self.kubeconfig.read_text())
        config["current-context"] = f"flowops-{context}"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return path

    def _write_kubeconfig(self) -> None:
        ca = base64.b64encode(self.pki.ca_cert.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "flowops-local", "cluster": {"server": self.server, "certificate-authority-data": ca}}],
            "users": [{"name": u.username, "user": {"token": u.token}} for u in self.users.values()],
            "contexts": [
                {"name": f"flowops-{u.context}", "context": {"cluster": "flowops-local", "user": u.username}}
                for u in self.users.values()
            ],
            "current-context": "flowops-admin",
        }
        # JSON is valid YAML; kubectl and the Python client both read it.
        self.kubeconfig.write_text(json.dumps(config, indent=2))
        self.kubeconfig.chmod(0o600)
