"""python -m bench: start a control plane and the operator, run the scenarios, write the report."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import traceback
from dataclasses import asdict, fields
from pathlib import Path

from . import tracing
from .harness import Bench
from .report import Report, not_run
from .scenarios import NAMES, OPTIONAL, Params, runner

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = Params()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--flows", type=int, default=defaults.flows, help="flows present for commit, fan-out, memory and restart")
    parser.add_argument("--changes", type=int, default=defaults.changes, help="content changes timed for commit latency")
    parser.add_argument("--clients", type=int, default=defaults.clients, help="ApiClients following HEAD for propagation")
    parser.add_argument("--versions", type=int, default=defaults.versions, help="versions per flow for the memory figure")
    parser.add_argument("--extra-flows", type=int, default=defaults.extra_flows, help="flows added to measure memory growth")
    parser.add_argument(
        "--large-flows", type=int, default=defaults.large_flows, help="large flows added to check memory is flat in document size"
    )
    parser.add_argument("--large-versions", type=int, default=defaults.large_versions, help="versions of each large flow")
    parser.add_argument("--promotions", type=int, default=defaults.promotions, help="promotions timed")
    parser.add_argument("--propagations", type=int, default=defaults.propagations, help="HEAD moves timed for propagation")
    parser.add_argument(
        "--storage-versions", type=int, default=defaults.storage_versions, help="versions of the large flow for storage"
    )
    parser.add_argument(
        "--large-bytes", type=int, default=defaults.large_bytes, help="size of the large flow (promotion, storage, memory)"
    )
    parser.add_argument(
        "--chain-clients",
        type=int,
        default=defaults.chain_clients,
        help="ApiClients following HEAD in each environment of the restart chain",
    )
    parser.add_argument(
        "--application-clients",
        type=int,
        default=defaults.application_clients,
        help="of the chain's ApiClients in each environment, how many inherit from an Application (four per Application)",
    )
    parser.add_argument(
        "--restarts", type=int, default=defaults.restarts, help="restarts measured on one population (median reported)"
    )
    parser.add_argument(
        "--finished-promotions",
        type=int,
        default=defaults.finished_promotions,
        help="finished Promotions present at the restart, measured against a restart without them (0: not measured)",
    )
    parser.add_argument(
        "--pushes", type=int, default=defaults.pushes, help="git pushes timed for gitops (run with --only gitops)"
    )
    parser.add_argument("--timeout", type=float, default=defaults.timeout, help="seconds any single wait may take")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=NAMES + OPTIONAL,
        metavar="SCENARIO",
        help=f"run only these ({', '.join(NAMES)}; and, never by default, {', '.join(OPTIONAL)})",
    )
    parser.add_argument("--profile", action="store_true", help="run the operator under pyinstrument (slower; writes OUT/profile)")
    parser.add_argument(
        "--profile-targets",
        metavar="MODULE:FUNCTION,...",
        help="functions profiled per call in the handler threads (default: each controller's service)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="record each API request the operator makes, with the timed operations (OUT/trace.txt; python -m bench.tracing)",
    )
    parser.add_argument(
        "--operator-code",
        type=Path,
        metavar="DIR",
        help="run the operator from another checkout's operator/ directory (an A/B against older code, measured alike)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where report.md, report.json and logs go")
    return parser.parse_args(argv)


def params_of(args: argparse.Namespace) -> Params:
    return Params(**{f.name: getattr(args, f.name) for f in fields(Params)})


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = params_of(args)
    selected = [n for n in NAMES + OPTIONAL if n in (args.only or NAMES)]
    report = Report(parameters={**asdict(params), "scenarios": selected, "operator_code": str(args.operator_code or "")})
    failed = False
    with Bench(args.out, log) as bench:
        if args.operator_code:
            path = (str(args.operator_code.resolve()), bench.operator_env["PYTHONPATH"])
            bench.operator_env["PYTHONPATH"] = os.pathsep.join(path)
        if args.profile:
            bench.operator_env["FLOWOPS_BENCH_PROFILE"] = str(args.out / "profile")
            if args.profile_targets:
                bench.operator_env["FLOWOPS_BENCH_PROFILE_TARGETS"] = args.profile_targets
        if args.trace:
            args.out.mkdir(parents=True, exist_ok=True)
            trace = str((args.out / "trace.txt").resolve())
            bench.operator_env[tracing.ENV] = os.environ[tracing.ENV] = trace
        for name in selected:
            log(f"scenario {name}")
            began = time.monotonic()
            try:
                rows, details = runner(name)(bench, params)
            except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
                traceback.print_exc()
                failed = True
                rows, details = [not_run(name, "—", f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:200])], {}
            details = {**details, "scenario_seconds": round(time.monotonic() - began, 1)}
            report.add(rows, details)
            log(f"scenario {name} done in {time.monotonic() - began:.0f}s")
            report.write(args.out)  # partial results survive an interrupted run
    report.finish()
    md, js = report.write(args.out)
    print(md.read_text())
    log(f"report: {md} and {js}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
