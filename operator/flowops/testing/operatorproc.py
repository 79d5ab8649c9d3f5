"""Runs the real operator as a separate process, as a given kubeconfig user."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..devcluster.controlplane import _die_with_parent, free_port


class PortTaken(RuntimeError):
    """The operator could not bind the port it was given."""


class OperatorProcess:
    """verbose=True (tests): debug logs to read when a test fails. The Deployment runs without."""

    def __init__(
        self,
        kubeconfig: Path,
        context: str,
        log_path: Path,
        extra_args: tuple[str, ...] = (),
        env: dict | None = None,
        verbose: bool = True,
    ) -> None:
        self.kubeconfig, self.context, self.log_path = kubeconfig, context, log_path
        self.extra_args = (*(("--verbose",) if verbose else ()), *extra_args)
        self.env = env or {}
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.metrics_port = 0

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self, timeout: float = 60.0, attempts: int = 3) -> OperatorProcess:
        if self.alive():
            return self  # one process per instance; a second writer is explicit: alongside()
        for attempt in range(attempts):
            try:
                return self._start_once(timeout)
            except PortTaken:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, timeout: float) -> OperatorProcess:
        # A free port is only free when asked: another process may bind it before the
        # operator does. Then the operator exits at once, and new ports are tried.
        self.port, self.metrics_port = free_port(), free_port()
        started_at = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flowops",
                "--kubeconfig",
                str(self.kubeconfig),
                "--context",
                self.context,
                "--liveness",
                self.health_url,
                "--metrics",
                self.metrics_url,
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                written = self._log_since(started_at)
                taken = [port for port in (self.port, self.metrics_port) if f"port {port} is in use" in written]
                if taken:
                    raise PortTaken(f"port {taken[0]} was taken before the operator bound it")
                raise RuntimeError(f"operator exited with {self.process.returncode}:\n{self.tail()}")
            if self.healthy():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"operator not healthy within {timeout}s:\n{self.tail()}")

    def healthy(self, timeout: float = 2) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=timeout) as response:
                return response.status == 200
        except OSError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL: no clean-up, as a crash or an OOM kill would leave things."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, grace: float = 15.0) -> int | None:
        if not self.alive():
            return self.process.returncode if self.process else None
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None

    def alongside(self, log_path: Path) -> OperatorProcess:
        """A second, unpeered operator against the same cluster: two writers at once, as a
        rolling update without peering makes them. Only tests of that situation want one."""
        return OperatorProcess(
            self.kubeconfig, self.context, log_path, extra_args=self.extra_args, env=dict(self.env), verbose=False
        )

    def restart(self) -> OperatorProcess:
        self.stop()
        return self.start()


@contextmanager
def in_place_of(operator: OperatorProcess, log_name: str, env: dict, grace: float = 15.0) -> Iterator[OperatorProcess]:
    """Another operator process, configured by `env`, runs instead of `operator` (stopped,
    then started again after): for fault points that only a process's start can arm."""
    operator.stop()
    process = OperatorProcess(operator.kubeconfig, operator.context, operator.log_path.with_name(log_name), env=env)
    try:
        process.start()
        yield process
    finally:
        process.stop(grace=grace)
        operator.start()
