"""`history FLOW`: versions newest first, with HEAD marked and who uses each one."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from ... import names
from ...domain.versionid import parse_selector
from ...kube import FLOWVERSIONS
from ..bindings import ClientView, applications, client_views
from ..formatting import age
from ..output import Cell
from ..parser import add_command
from ..refs import check_flow_name
from ..session import Session, head_of


@dataclass(frozen=True)
class VersionRow:
    id: str
    number: int
    created: str | None
    message: str
    transition: str | None
    origin: str
    source: Mapping[str, Any] | None
    ready: bool | None
    failed_rules: tuple[str, ...] = ()
    guardrails: str = ""
    head: bool = False
    used_by: tuple[str, ...] = field(default_factory=tuple)
    provenance: Mapping[str, Any] | None = None  # of a promoted version: who requested, who approved
    changed_by: str | None = None  # of a committed version: who last wrote the Flow (the API server's record)
    applied_by: Mapping[str, str] | None = None  # the GitOps tool, when that writer was its ServiceAccount

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "created": self.created,
            "message": self.message,
            "transition": self.transition,
            "origin": self.origin,
            "source": dict(self.source) if self.source else None,
            "ready": self.ready,
            "failedRules": list(self.failed_rules),
            "guardrails": self.guardrails,
            "head": self.head,
            "usedBy": list(self.used_by),
            "provenance": dict(self.provenance) if self.provenance else None,
            "changedBy": self.changed_by,
            "appliedBy": dict(self.applied_by) if self.applied_by else None,
        }


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "history",
        "versions of a flow, newest first",
        "Versions of FLOW in the environment (-n), newest first: id, number, age, message, transition,\n"
        "where a promoted version came from and who requested and approved it, or who wrote the\n"
        "Flow a committed version commits (as the API server recorded them), its guardrail verdict and which API clients and applications use it.\n"
        "HEAD is marked with *.",
    )
    parser.add_argument("flow", metavar="FLOW")
    parser.set_defaults(run=run)


def version_row(obj: Mapping[str, Any], head: str | None, used_by: Sequence[str]) -> VersionRow:
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
    ready = status.get("ready")
    if ready is None:
        label = (meta.get("labels") or {}).get(names.LABEL_READY)
        ready = None if label in (None, "unknown") else label == "true"
    failed = tuple(r.get("rule", "?") for r in status.get("guardrails") or [] if r.get("passed") is False)
    summary = (meta.get("annotations") or {}).get(names.ANN_GUARDRAILS, "")
    return VersionRow(
        id=spec["id"],
        number=int(spec["number"]),
        created=meta.get("creationTimestamp"),
        message=spec.get("message") or "",
        transition=spec.get("transition"),
        origin=spec.get("origin") or "Commit",
        source=spec.get("source") or None,
        ready=ready,
        failed_rules=failed,
        guardrails=summary,
        head=spec["id"] == head,
        used_by=tuple(used_by),
        provenance=spec.get("provenance") or None,
        changed_by=spec.get("changedBy") or None,
        applied_by=spec.get("appliedBy") or None,
    )


def users_by_version(
    flow: str, clients: Sequence[ClientView], apps: Mapping[str, Mapping[str, Any]], numbers: Mapping[int, str]
) -> dict[str, list[str]]:
    """version id → who uses it: clients as resolved (HEAD followers marked), apps that pin it."""
    used: dict[str, list[str]] = {}
    for view in clients:
        if view.flow == flow and view.version:
            used.setdefault(view.version, []).append(view.name + (" (HEAD)" if view.follows_head else ""))
    for name, app in sorted(apps.items()):
        default = (app.get("spec") or {}).get("defaultFlow") or {}
        if default.get("name") != flow or not default.get("version"):
            continue
        try:
            selector = parse_selector(str(default["version"]))
        except ValueError:
            continue
        pinned: str | None = None  # an application following HEAD uses whatever its clients show
        if selector.kind == "id":
            pinned = str(selector.value)
        elif selector.kind == "number":
            pinned = numbers.get(int(selector.value or 0))
        if pinned:
            used.setdefault(pinned, []).append(f"application/{name}")
    return used


def source_cell(row: VersionRow, numbers: Mapping[tuple[str, str, str], int]) -> str:
    """Where a version came from: an edit, or env/flow@number of the promoted version."""
    if row.origin == "Quarantine":
        return "reverted direct edit"
    if row.source:
        env, flow, version = (str(row.source.get(k) or "") for k in ("environment", "flow", "version"))
        where = "/".join(p for p in (env, flow) if p)
        number = numbers.get((env, flow, version))
        return f"{where}@{number}" if number else f"{where}@{version}" if version else where
    return "edit"


def source_numbers(session: Session, rows: Sequence[VersionRow]) -> dict[tuple[str, str, str], int]:
    """Numbers of promoted-from versions that still exist, so SOURCE reads staging/standard@41."""
    known = {e.name: e for e in session.environments}
    out: dict[tuple[str, str, str], int] = {}
    for env_name, flow in {(str(r.source.get("environment")), str(r.source.get("flow"))) for r in rows if r.source}:
        if env_name in known:
            for record in session.records(known[env_name], flow):
                out[(env_name, flow, record.id)] = record.number
    return out


def people_cell(row: VersionRow) -> str | None:
    """Who promoted it, as the API server recorded them: `alice, approved by bob`; or who
    wrote the Flow it commits: `alice`, `system:serviceaccount:flux-system:fleet (Flux)`."""
    if not row.provenance and row.changed_by:
        return row.changed_by + (f" ({row.applied_by['tool']})" if row.applied_by else "")
    provenance = row.provenance or {}
    requester = (provenance.get("requestedBy") or {}).get("username")
    approver = provenance.get("approvedBy") or {}
    parts = [requester] if requester else []
    if approver.get("username"):
        parts.append(f"approved by {approver['username']}" + (" via GitOps" if approver.get("via") == "GitOps" else ""))
    return ", ".join(parts) or None


def guardrails_cell(row: VersionRow) -> Text:
    if row.origin == "Quarantine":
        return Text("quarantined", style="dim")
    if row.ready is None:
        return Text("pending")
    if row.ready:
        return Text("passed", style="green")
    return Text("failed: " + ", ".join(row.failed_rules) if row.failed_rules else "failed", style="red")


COLUMNS = ["head", "number", "version", "age", "message", "transition", "source", "by", "guardrails", "used by"]


def cells(
    rows: Sequence[VersionRow], now: dt.datetime, uncommitted: bool, numbers: Mapping[tuple[str, str, str], int] | None = None
) -> list[list[Cell]]:
    out: list[list[Cell]] = []
    if uncommitted:
        out.append(
            [
                Text(""),
                "-",
                "uncommitted",
                "-",
                Text("spec.content has changes not committed yet", style="yellow"),
                None,
                None,
                None,
                None,
                None,
            ]
        )
    for row in rows:
        out.append(
            [
                Text("*", style="bold green") if row.head else Text(""),
                row.number,
                row.id,
                age(row.created, now),
                row.message or None,
                row.transition,
                source_cell(row, numbers or {}),
                people_cell(row),
                guardrails_cell(row),
                ", ".join(row.used_by) or None,
            ]
        )
    return out


def run(session: Session, args: argparse.Namespace) -> int:
    flow_name = check_flow_name(args.flow, command="history")
    env = session.current_environment()
    flow = session.flow(env, flow_name)
    head = head_of(flow)
    objects = session.kube.list(FLOWVERSIONS, env.namespace, label_selector=f"{names.LABEL_FLOW}={flow_name}", page_size=50)
    numbers = {int(o["spec"]["number"]): o["spec"]["id"] for o in objects}
    used = users_by_version(flow_name, client_views(session, env), applications(session, env), numbers)
    rows = sorted((version_row(o, head, used.get(o["spec"]["id"], ())) for o in objects), key=lambda r: -r.number)
    status = flow.get("status") or {}
    uncommitted = bool(status.get("uncommitted"))
    out = session.output
    if out.structured:
        out.data(
            {
                "flow": flow_name,
                "environment": env.name,
                "namespace": env.namespace,
                "head": head,
                "uncommitted": uncommitted,
                "versions": [r.to_json() for r in rows],
            }
        )
        return 0
    if not rows and not uncommitted:
        out.note(f"flow {flow_name} in environment {env.label} has no versions yet.")
        return 0
    now = dt.datetime.now(dt.UTC)
    out.table(
        COLUMNS, cells(rows, now, uncommitted, source_numbers(session, rows)), wrap=["message", "by", "guardrails", "used by"]
    )
    return 0
