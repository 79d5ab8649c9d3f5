"""`make run`: a local control plane with flowops installed, samples applied and the
operator in the foreground. Ctrl-C stops all of it."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from .. import endpoints
from . import install, showcase
from .controlplane import ControlPlane, ControlPlaneError, _die_with_parent, default_bin_dir, free_port


def run_dir() -> Path:
    cache = Path(
        os.environ.get("FLOWOPS_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flowops"
    )
    return cache / "run"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    # SIGTERM (`timeout`, CI) cleans up like Ctrl-C; SIGINT is set explicitly because a
    # shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    workdir = Path(args.workdir) if args.workdir else run_dir()
    shutil.rmtree(workdir, ignore_errors=True)  # a fresh cluster every time
    cluster = ControlPlane(bin_dir=default_bin_dir(), workdir=workdir)
    began = time.monotonic()
    print(f"starting etcd, kube-apiserver and kube-controller-manager from {cluster.bin_dir} ...", flush=True)
    try:
        cluster.start()
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    operator: subprocess.Popen | None = None
    try:
        print(f"control plane ready in {cluster.started_seconds:.1f}s at {cluster.server}", flush=True)
        install.install(cluster)
        cluster.kubectl("apply", "--server-side", "-f", str(install.SAMPLES / "dev-users.yaml"))
        if not args.no_samples:
            install.install_samples(cluster)
        print(
            f"flowops installed{'' if args.no_samples else ' with sample environments and flows'} "
            f"in {time.monotonic() - began:.1f}s\n",
            flush=True,
        )
        print("Use it from another terminal:\n")
        print(f"    export KUBECONFIG={cluster.kubeconfig}\n", flush=True)
        print("Contexts: flowops-admin (default), flowops-editor, flowops-promoter, flowops-approver (a second person:")
        print("approves production promotions), flowops-viewer, flowops-operator.")
        print("Try: kubectl get flowops -A    kubectl flowops status    (Ctrl-C here stops everything)\n", flush=True)
        if args.no_operator:
            signal.pause()
            return 0
        liveness = f"http://127.0.0.1:{_port_or_free(args.liveness_port)}/healthz"
        metrics = f"http://127.0.0.1:{_port_or_free(args.metrics_port)}/metrics"
        print(f"Operator liveness: {liveness}    metrics: {metrics}\n", flush=True)
        operator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flowops",
                "--kubeconfig",
                str(cluster.kubeconfig),
                "--context",
                "flowops-operator",
                "--liveness",
                liveness,
                "--metrics",
                metrics,
            ],
            preexec_fn=_die_with_parent,
        )
        if not args.no_samples:
            showcase.start(cluster.kubeconfig)
        return operator.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if operator is not None and operator.poll() is None:
            operator.send_signal(signal.SIGINT)
            try:
                operator.wait(15)
            except subprocess.TimeoutExpired:
                operator.kill()
        cluster.stop()
        print("stopped: control plane and operator are down", flush=True)


def _port_or_free(preferred: int) -> int:
    """The usual port when it is free, else any free one: a second `make run`, or anything
    else on 8080, must not stop this one."""
    return preferred if endpoints.port_problem(f"127.0.0.1:{preferred}", preferred) is None else free_port()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flowops-dev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start everything and run the operator in the foreground")
    run_parser.add_argument("--workdir", help=f"where the cluster keeps its files (default {run_dir()})")
    run_parser.add_argument("--no-samples", action="store_true", help="install flowops without the sample environments and flows")
    run_parser.add_argument("--no-operator", action="store_true", help="do not start the operator (run it yourself)")
    run_parser.add_argument(
        "--liveness-port", type=int, default=8080, help="operator liveness port (default 8080, a free one if taken)"
    )
    run_parser.add_argument(
        "--metrics-port", type=int, default=8081, help="operator metrics port (default 8081, a free one if taken)"
    )
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
