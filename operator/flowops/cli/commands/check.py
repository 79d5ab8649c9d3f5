"""`check -f FILES`: a pre-merge check of Flow manifests for CI.

Each Flow is evaluated against the guardrails and protection of its environment (read
from the cluster, or from Environment manifests among the files; --offline reads only
the files) and compared with the cluster's newest version: the plan of what merging
would change. Exit 1 when any flow would fail; nothing is written.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from ...domain import check as checks
from ...domain.commit import latest_of
from ...kube import ENVIRONMENTS, FLOWS
from ...services import versions
from ..errors import FAILED, OK, UserError
from ..formatting import change_dict, change_line, plural
from ..parser import add_command, positive_width
from ..session import Session

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "check",
        "check Flow manifests before they are merged (for CI)",
        "Evaluate the Flow manifests in FILES (files or directories, recursively) against the\n"
        "guardrails and protection of their environment, and print what merging them would change\n"
        "against the cluster's newest version of each flow. Environment manifests among the files\n"
        "override the cluster's; with --offline only the files are read. Exits 1 when a flow would\n"
        "fail its guardrails or be refused. Nothing is written.\n\n"
        "  kubectl flowops check -f flows/\n"
        "  kubectl flowops check -f environments/ -f flows/ --offline",
    )
    parser.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        metavar="PATH",
        help="a manifest file or a directory of them (repeatable)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="do not contact the cluster: Environments must be among the files; no plan is computed",
    )
    parser.add_argument(
        "--max-width", type=positive_width, default=100, metavar="CHARS", help="cut values longer than this (default 100)"
    )
    parser.set_defaults(run=run)


def manifest_files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise UserError(f"{raw}: no such file or directory")
    return found


def documents(files: list[Path]) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in files:
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML: {exc}") from None
        for doc in loaded:
            if isinstance(doc, dict) and doc.get("kind") == "List":
                loaded.extend(doc.get("items") or [])
            elif isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("flowops.io/"):
                yield path, doc


def _environments(session: Session, from_files: list[dict[str, Any]], offline: bool) -> dict[str, Mapping[str, Any]]:
    """Namespace → Environment object; the files win over the cluster."""
    listed = [] if offline else session.kube.list(ENVIRONMENTS)
    by_name = {e["metadata"]["name"]: e for e in listed}
    by_name.update({e["metadata"]["name"]: e for e in from_files})
    return {str((e.get("spec") or {}).get("namespace")): e for e in by_name.values()}


def _head(session: Session, namespace: str, name: str) -> checks.Head | None:
    flow = session.kube.get_or_none(FLOWS, name, namespace)
    if flow is None:
        return None
    records = versions.list_records(session.kube, namespace, name, owner_uid=flow["metadata"]["uid"])
    latest = latest_of(records)
    document = versions.read_document(session.kube, namespace, name, latest.id) if latest else None
    return checks.Head(records, document)


def run(session: Session, args: argparse.Namespace) -> int:
    docs = list(documents(manifest_files(args.filename)))
    flows = [(p, d) for p, d in docs if d.get("kind") == "Flow"]
    if not flows:
        raise UserError("no Flow manifests found in " + ", ".join(args.filename))
    env_by_namespace = _environments(session, [d for _, d in docs if d.get("kind") == "Environment"], args.offline)
    default_ns = session.current_environment().namespace if session.namespace else None
    results: list[tuple[Path, checks.FlowCheck]] = []
    for path, manifest in flows:
        meta = manifest.setdefault("metadata", {})
        if not meta.get("namespace"):
            if not default_ns:
                raise UserError(
                    f"{path}: Flow {meta.get('name')} has no metadata.namespace", hint="set it, or pass -n ENVIRONMENT"
                )
            meta["namespace"] = default_ns
        namespace, name = meta["namespace"], str(meta.get("name"))
        head = None if args.offline else _head(session, namespace, name)
        results.append((path, checks.check_flow(manifest, env_by_namespace.get(namespace), head, consulted=not args.offline)))
    report(session, results, args.max_width)
    return OK if all(r.ok or r.verdict == "NoEnvironment" for _, r in results) else FAILED


def _plan_text(result: checks.FlowCheck) -> str:
    if result.plan is None:
        return "(offline)"
    if result.plan == "NewFlow":
        return "new flow: version 1"
    if result.plan == "NoChange":
        return f"no change (same as version {result.against})"
    return f"{plural(len(result.changes), 'change')} against version {result.against}"


def report(session: Session, results: list[tuple[Path, checks.FlowCheck]], width: int) -> None:
    out = session.output
    if out.structured:
        out.data(
            {
                "flows": [
                    {
                        "file": str(path),
                        "flow": r.flow,
                        "namespace": r.namespace,
                        "environment": r.environment,
                        "verdict": r.verdict,
                        "detail": r.detail,
                        "guardrails": r.rules,
                        "plan": r.plan,
                        "against": r.against,
                        "message": r.message,
                        "changes": [change_dict(c) for c in r.changes],
                    }
                    for path, r in results
                ]
            }
        )
        return
    out.table(
        ["flow", "environment", "verdict", "plan", "file"],
        [[f"{r.namespace}/{r.flow}", r.environment, r.verdict, _plan_text(r), str(path)] for path, r in results],
    )
    for path, r in results:
        if r.ok and not r.changes and r.message is None:
            continue
        out.line()
        out.line(f"{r.namespace}/{r.flow} ({path}):")
        if not r.ok:
            out.line(f"  {r.detail}")
        if r.message is not None:
            out.line(f"  version message: {r.message or '(none: set the flowops.io/change-cause annotation)'}")
        for change in r.changes:
            line = change_line(change_dict(change), width)
            line.pad_left(2)
            out.line(line)
