"""`python -m flowops` / `flowops-operator`: run the operator against a cluster."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import random
import sys

import kopf

from . import endpoints, envsettings, indexreadiness, logs, memory, metrics, metricshooks, metricsstate, pausing

LOG_FORMATS = ("plain", "full", "json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="flowops-operator", description=__doc__)
    parser.add_argument(
        "--kubeconfig", default=os.environ.get("KUBECONFIG"), help="kubeconfig file (default: $KUBECONFIG, else in-cluster)"
    )
    parser.add_argument("--context", default=os.environ.get("FLOWOPS_CONTEXT"), help="kubeconfig context to use")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--standalone", action="store_true", default=True, help="run without peering (default)")
    mode.add_argument(
        "--peering", metavar="NAME", help="coordinate with other replicas through the KopfPeering object NAME; one is active"
    )
    parser.add_argument(
        "--priority",
        type=int,
        help="peering priority (env FLOWOPS_PRIORITY; the highest is active; default random, since equal priorities "
        "pause every replica)",
    )
    parser.add_argument(
        "--liveness",
        default=os.environ.get("FLOWOPS_LIVENESS", "http://0.0.0.0:8080/healthz"),
        help="liveness endpoint URL ('' to disable)",
    )
    parser.add_argument(
        "--metrics",
        default=os.environ.get("FLOWOPS_METRICS", "http://0.0.0.0:8081/metrics"),
        help="Prometheus metrics endpoint URL ('' to disable)",
    )
    parser.add_argument("--log-format", choices=LOG_FORMATS, help="env FLOWOPS_LOG_FORMAT; default full")
    parser.add_argument("--verbose", action="store_true", help="debug logs, and a line per handler success")
    return parser.parse_args(argv)


def environment_problems(args: argparse.Namespace) -> list[str]:
    """Fills the flags left unset from their FLOWOPS_* variables, which argparse would not
    check; what does not parse is named with its fix."""
    problems = envsettings.problems()
    if args.log_format is None:
        args.log_format = os.environ.get("FLOWOPS_LOG_FORMAT") or "full"
        if args.log_format not in LOG_FORMATS:
            problems.append(f"FLOWOPS_LOG_FORMAT={args.log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    if args.priority is None and (raw := os.environ.get("FLOWOPS_PRIORITY", "").strip()):
        try:
            args.priority = int(raw)
        except ValueError:
            problems.append(f"FLOWOPS_PRIORITY={raw!r} is not a whole number; unset it for a random priority")
    return problems


def _version() -> str:
    try:
        return importlib.metadata.version("flowops")
    except importlib.metadata.PackageNotFoundError:  # a source tree without an installed distribution
        return "dev"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if problems := environment_problems(args):
        sys.exit("\n".join(f"flowops-operator: {problem}" for problem in problems))
    memory.limit_malloc_arenas()
    memory.collect_cycles_less_often()
    # Handlers read the connection settings at start-up.
    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    if args.context:
        os.environ["FLOWOPS_CONTEXT"] = args.context
    if args.peering:
        os.environ["FLOWOPS_PEERING_NAME"] = args.peering
    priority = args.priority if args.priority is not None else random.randint(1, 2**31)
    # A taken port is a clear message now, not a traceback once the operator is running.
    for flag, url, port in (("--liveness", args.liveness, 8080), ("--metrics", args.metrics, 8081)):
        if url and (problem := endpoints.port_problem(url, port)):
            sys.exit(f"flowops-operator: {flag} {url}: {problem}; pass {flag} with another port, or {flag} '' to disable it")
    # log_prefix None: text lines name their object ("[namespace/name] ..."); JSON has a field for it.
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat[args.log_format.upper()], log_prefix=None)
    logs.configure(verbose=args.verbose)
    indexreadiness.install()
    # A paused replica (peering) forgets its state and reports none: the active one does.
    pausing.install(metricsstate.state.set_paused)
    from . import handlers  # noqa: F401  (registers the handlers)

    if args.metrics:
        metricshooks.instrument_handlers()
        metricsstate.register()
        metrics.serve(args.metrics, version=_version())

    kopf.run(
        clusterwide=True,
        standalone=not bool(args.peering),
        peering_name=args.peering,
        priority=priority,
        liveness_endpoint=args.liveness or None,
    )


if __name__ == "__main__":
    main()
