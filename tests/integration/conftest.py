"""Fixtures for tests against a real control plane and the real operator process.

A test that needs the control plane fails (it never skips) when none can be started.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flowops.devcluster import install as installer
from flowops.devcluster.controlplane import ControlPlane
from flowops.devcluster.existing import ExistingCluster
from flowops.devcluster.flux import Flux
from flowops.devcluster.gitserver import GitServer
from flowops.kube import ENVIRONMENTS, NAMESPACES, Kube
from flowops.testing.admission import wait_until_governed
from flowops.testing.gitops import FluxSync
from flowops.testing.operatorproc import OperatorProcess
from flowops.testing.waiting import wait_for  # noqa: F401  (re-exported for tests)

INTEGRATION = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this directory `integration` (a conftest's pytestmark is ignored),
    so `pytest -m integration` / `-m "not integration"` (make integration / make unit) select them."""
    for item in items:
        if INTEGRATION in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def cluster() -> Iterator[ControlPlane]:
    if os.environ.get("FLOWOPS_USE_EXISTING_CLUSTER") == "1":
        existing = ExistingCluster().start()
        installer.install(existing)  # type: ignore[arg-type]
        existing.add_identities()
        yield existing  # type: ignore[misc]
        return
    control_plane = ControlPlane()
    control_plane.start()  # raises ControlPlaneError with the component's logs: the test errors, never skips
    try:
        installer.install(control_plane)
        control_plane.kubectl("apply", "--server-side", "-f", str(installer.SAMPLES / "dev-users.yaml"))
        yield control_plane
    finally:
        control_plane.stop()


@pytest.fixture(scope="session")
def kube(cluster: ControlPlane) -> Kube:
    return Kube.from_kubeconfig(str(cluster.kubeconfig), "flowops-admin")


@pytest.fixture(scope="session")
def kube_as(cluster: ControlPlane) -> Callable[[str], Kube]:
    clients: dict[str, Kube] = {}

    def client(user: str) -> Kube:
        if user not in clients:
            clients[user] = Kube.from_kubeconfig(str(cluster.kubeconfig), f"flowops-{user}")
        return clients[user]

    return client


@pytest.fixture(scope="session")
def operator(cluster: ControlPlane) -> Iterator[OperatorProcess]:
    """The operator, running as its ServiceAccount with the shipped role (not as admin)."""
    log_dir = Path(os.environ.get("FLOWOPS_TEST_LOG_DIR") or tempfile.mkdtemp(prefix="flowops-operator-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    process = OperatorProcess(cluster.kubeconfig, "flowops-operator", log_dir / "operator.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def production_operator(cluster: ControlPlane, operator: OperatorProcess) -> Iterator[OperatorProcess]:
    """The operator as the Deployment runs it (no --verbose, JSON logs), in place of the
    session operator for one module: the production logging path runs in the suite."""
    operator.stop()
    process = OperatorProcess(
        cluster.kubeconfig,
        "flowops-operator",
        operator.log_path.with_name("production.log"),
        ("--log-format=json",),
        verbose=False,
    )
    process.start()
    yield process
    process.stop()
    operator.start()


@pytest.fixture
def running_operator(operator: OperatorProcess) -> OperatorProcess:
    """The session operator, restarted if a previous test killed it."""
    if not operator.alive():
        operator.start()
    return operator


@pytest.fixture
def make_environment(kube: Kube) -> Callable[..., dict]:
    """Creates an Environment with its own fresh namespace, so tests never share flows."""

    def create(tier: str = "Development", **spec_extra) -> dict:
        suffix = uuid.uuid4().hex[:6]
        name = f"{tier.lower()[:4]}-{suffix}"
        namespace = f"ns-{name}"
        # The label says the namespace belongs to the Environment: the operator may write ConfigMaps there.
        kube.create(
            NAMESPACES,
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {"flowops.io/environment": name}},
            },
        )
        body = {
            "apiVersion": "flowops.io/v1alpha1",
            "kind": "Environment",
            "metadata": {"name": name},
            "spec": {"namespace": namespace, "tier": tier, **spec_extra},
        }
        env = kube.create(ENVIRONMENTS, body)
        wait_until_governed(kube, env)  # its protection and policy hold from here on
        return env

    return create


@pytest.fixture
def crashing_operator(operator: OperatorProcess, cluster: ControlPlane) -> Iterator[Callable[[str], OperatorProcess]]:
    """Replaces the session operator with one that SIGKILLs itself at a named crash point.
    The session operator is back (freshly restarted) after the test."""
    operator.stop()
    started: list[OperatorProcess] = []

    def start(crash_at: str) -> OperatorProcess:
        process = OperatorProcess(
            cluster.kubeconfig,
            "flowops-operator",
            operator.log_path.with_name(f"crash-{crash_at}.log"),
            env={"FLOWOPS_CRASH_AT": crash_at},
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.kill()
    operator.start()


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """One smart-HTTP git server on loopback for the session; each test makes its own repository."""
    with GitServer(tmp_path_factory.mktemp("git")) as server:
        yield server


@pytest.fixture(scope="session")
def flux(cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flux]:
    """Flux source-controller and kustomize-controller, one pair for the session."""
    controllers = Flux(cluster, tmp_path_factory.mktemp("flux"))
    controllers.start()  # fails with the controller's log when it cannot start: never skips
    yield controllers
    controllers.stop()


@pytest.fixture
def flux_sync(kube: Kube, git_server: GitServer, flux: Flux, tmp_path: Path) -> Iterator[Callable[..., FluxSync]]:
    """Makes git repositories that Flux syncs, applied as the named ServiceAccount; their
    Kustomizations are deleted after the test."""
    made: list[FluxSync] = []

    def make(service_account: str, **options) -> FluxSync:
        sync = FluxSync(kube, git_server, tmp_path, service_account, **options)
        made.append(sync)
        return sync

    yield make
    for sync in made:
        sync.delete()
