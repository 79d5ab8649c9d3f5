"""Starts a control plane, installs flowops and runs the operator; measures the operator process.

The operator runs as its own process with its ServiceAccount identity, exactly as in the
integration tests, so its memory and CPU are its own and not the benchmark driver's.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowops.devcluster import install as installer
from flowops.devcluster.controlplane import ControlPlane
from flowops.kube import ENVIRONMENTS, NAMESPACES, AlreadyExists, Kube
from flowops.testing.operatorproc import OperatorProcess

Log = Callable[[str], None]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Memory:
    rss_mib: float
    peak_mib: float


class Bench:
    """One control plane and one operator for the whole suite."""

    def __init__(self, out: Path, log: Log = print) -> None:
        self.out, self.log = out, log
        self.logs = out / "logs"
        self.cluster: ControlPlane | None = None
        self.operator: OperatorProcess | None = None
        self._kube: Kube | None = None
        # RSS of the operator idle right after its first start, before it has seen any flow.
        self.first_idle_memory: Memory | None = None
        # Diagnostics only (signal handlers, no cost): SIGUSR1 dumps the operator's asyncio
        # tasks, SIGUSR2 what holds its memory; see profiling/memory_probe.py.
        hook = Path(__file__).resolve().parent / "profiling"
        path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
        self.operator_env: dict[str, str] = {"PYTHONPATH": path, "FLOWOPS_BENCH_PROBES": "1"}

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Bench:
        self.logs.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        self.cluster = ControlPlane(log=self.log).start()
        installer.install(self.cluster)
        self.log(f"control plane up and flowops installed in {time.monotonic() - began:.1f}s ({self.cluster.server})")
        return self

    def stop(self) -> None:
        if self.operator is not None:
            self.operator.stop()
        if self.cluster is not None:
            # Keep the component logs next to the report: they explain odd figures.
            for component in self.cluster.components:
                if component.log_path.exists():
                    (self.logs / component.log_path.name).write_bytes(component.log_path.read_bytes()[-2_000_000:])
            self.cluster.stop()

    def __enter__(self) -> Bench:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def kube(self) -> Kube:
        if self._kube is None:
            assert self.cluster is not None, "start() first"
            self._kube = Kube.from_kubeconfig(str(self.cluster.kubeconfig), "flowops-admin")
            # The driver issues writes from a few threads; keep a connection for each.
            self._kube.api.rest_client.pool_manager.connection_pool_kw["maxsize"] = 32
        return self._kube

    # -- the operator ---------------------------------------------------------------------
    @property
    def operator_log(self) -> Path:
        return self.logs / "operator.log"

    def start_operator(self) -> OperatorProcess:
        assert self.cluster is not None
        if self.operator is None or not self.operator.alive():
            # As the Deployment runs it: JSON logs at INFO (each line names its object). The
            # tests' --verbose logs every body at DEBUG, which would dominate every figure.
            self.operator = OperatorProcess(
                self.cluster.kubeconfig,
                "flowops-operator",
                self.operator_log,
                extra_args=("--log-format", "json"),
                env=self.operator_env,
                verbose=False,
            )
            self.operator.start()
            if self.first_idle_memory is None:
                self.wait_operator_idle()
                self.first_idle_memory = self.memory()
        return self.operator

    def stop_operator(self) -> None:
        if self.operator is not None:
            self.operator.stop()

    @property
    def pid(self) -> int:
        assert self.operator is not None and self.operator.process is not None
        return self.operator.process.pid

    def memory(self) -> Memory:
        """VmRSS and VmHWM of the operator process."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
        return Memory(fields["VmRSS"], fields["VmHWM"])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the operator process so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        after_name = stat[stat.rindex(")") + 2 :].split()
        return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS

    def wait_operator_idle(self, quiet: float = 2.0, timeout: float = 300.0, threshold: float = 0.02) -> float:
        """Waits until the operator has used under `threshold` CPU-seconds per second for `quiet` seconds."""
        began = time.monotonic()
        last, since = self.cpu_seconds(), time.monotonic()
        interval = min(0.5, quiet / 3)
        while time.monotonic() - began < timeout:
            time.sleep(interval)
            now_cpu, now = self.cpu_seconds(), time.monotonic()
            if now_cpu - last > threshold * (now - since):
                last, since = now_cpu, now
            elif now - since >= quiet:
                return now - began
        raise TimeoutError(f"operator still busy after {timeout:.0f}s")

    def probe(self, signal_number: int, marker: str, settle: float = 1.0) -> list[str]:
        """Sends a diagnostics signal to the operator and returns the lines it logged."""
        offset = self.operator_log.stat().st_size
        os.kill(self.pid, signal_number)
        time.sleep(settle)
        with self.operator_log.open("rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
        return [line for line in text.splitlines() if marker in line]

    # -- cluster objects ------------------------------------------------------------------
    def environment(self, name: str, tier: str = "Development", upstream: str | None = None, **spec: Any) -> str:
        """An Environment over a namespace of the same name; returns the namespace."""
        try:
            # The label lets the operator write the clients' ConfigMaps there (docs/operations.md).
            self.kube.create(
                NAMESPACES,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"flowops.io/environment": name}}},
            )
        except AlreadyExists:
            pass
        body_spec: dict[str, Any] = {"namespace": name, "tier": tier, **spec}
        if upstream:
            body_spec["upstream"] = upstream
        body = {"apiVersion": "flowops.io/v1alpha1", "kind": "Environment", "metadata": {"name": name}, "spec": body_spec}
        try:
            self.kube.create(ENVIRONMENTS, body)
        except AlreadyExists:
            pass
        return name

    def namespace(self, name: str) -> str:
        try:
            self.kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        except AlreadyExists:
            pass
        return name

    def kubectl(self, *args: str, input: str | bytes | None = None, timeout: float = 600.0) -> subprocess.CompletedProcess:
        assert self.cluster is not None
        return self.cluster.kubectl(*args, input=input, timeout=timeout)

    def kubectl_command(self) -> list[str]:
        """kubectl with this cluster's kubeconfig, for scripts the benchmark times."""
        assert self.cluster is not None
        return [self.cluster.binary("kubectl"), "--kubeconfig", str(self.cluster.kubeconfig), "--context", "flowops-admin"]

    def etcd_values(self, prefix: str) -> dict[str, int]:
        """Key -> stored value size for every etcd key under prefix."""
        assert self.cluster is not None
        return self.cluster.etcd_value_sizes(prefix)


@contextmanager
def timed() -> Iterator[list[float]]:
    """with timed() as t: ...; t[0] is the elapsed seconds."""
    holder: list[float] = []
    began = time.monotonic()
    try:
        yield holder
    finally:
        holder.append(time.monotonic() - began)
