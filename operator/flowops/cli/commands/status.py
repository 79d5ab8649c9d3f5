"""`status`: flows × environments (HEAD, ready, sync, last promotion), then API clients."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from ...domain.diff import changed_paths_count
from ...kube import FLOWS, NotFound
from ...services import versions
from ..bindings import ClientView, client_views
from ..environments import Environment
from ..formatting import age, plural
from ..output import Cell
from ..parser import add_command
from ..refs import check_flow_name
from ..session import Session, head_of


@dataclass(frozen=True)
class Sync:
    state: str | None = None  # InSync, OutOfSync, UpstreamMissing, NotPromoted; None: no upstream
    upstream: str | None = None
    paths: int | None = None


@dataclass(frozen=True)
class FlowRow:
    flow: str
    environment: str
    present: bool = True
    head: str | None = None
    number: int | None = None
    versions: int | None = None
    ready: str | None = None
    reason: str | None = None
    uncommitted: bool = False
    sync: Sync = Sync()
    last_promotion: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "environment": self.environment,
            "present": self.present,
            "head": self.head,
            "number": self.number,
            "versions": self.versions,
            "ready": self.ready,
            "reason": self.reason,
            "uncommitted": self.uncommitted,
            "sync": {"state": self.sync.state, "upstream": self.sync.upstream, "differingPaths": self.sync.paths},
            "lastPromotion": dict(self.last_promotion) if self.last_promotion else None,
        }


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "status",
        "flows × environments and the API clients using them",
        "For every flow in every environment (or only -n ENV): HEAD version and number, whether it is\n"
        "ready, whether it matches the same flow upstream (or how many JSON paths differ), and the last\n"
        "promotion; then every API client with the flow and version it resolves to.",
    )
    parser.add_argument("flows", nargs="*", metavar="FLOW", help="only these flows")
    parser.set_defaults(run=run)


def _ready(flow: Mapping[str, Any]) -> tuple[str | None, str | None]:
    for cond in (flow.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status"), cond.get("reason")
    return None, None


def flow_row(env: Environment, flow: Mapping[str, Any], sync: Sync) -> FlowRow:
    status = flow.get("status") or {}
    ready, reason = _ready(flow)
    return FlowRow(
        flow=flow["metadata"]["name"],
        environment=env.name,
        head=status.get("latestReadyVersion"),
        number=status.get("latestReadyNumber"),
        versions=status.get("versionCount"),
        ready=ready,
        reason=reason,
        uncommitted=bool(status.get("uncommitted")),
        sync=sync,
        last_promotion=status.get("lastPromotion") or None,
    )


def sync_cell(row: FlowRow) -> Text:
    sync = row.sync
    if not row.present:
        return Text(f"not promoted from {sync.upstream}", style="yellow")
    if sync.state == "InSync":
        return Text(f"in sync with {sync.upstream}", style="green")
    if sync.state == "OutOfSync":
        howmany = (
            plural(sync.paths, "path") + (" differs" if sync.paths == 1 else " differ") if sync.paths is not None else "differs"
        )
        return Text(f"{howmany} from {sync.upstream}", style="yellow")
    if sync.state == "UpstreamMissing":
        return Text(f"not in {sync.upstream}")
    return Text("-")


def promotion_cell(last: Mapping[str, Any] | None, now: dt.datetime) -> str:
    if not last:
        return "-"
    source = last.get("sourceEnvironment") or "?"
    if last.get("sourceFlow"):
        source += f"/{last['sourceFlow']}"
    return f"from {source}, {age(last.get('time'), now)} ago" if last.get("time") else f"from {source}"


def ready_cell(row: FlowRow) -> Text:
    if not row.present:
        return Text("-")
    text = row.ready or "Unknown"
    if row.reason and row.reason not in ("UpToDate",):
        text += f" ({row.reason})"
    return Text(text, style="green" if row.ready == "True" else "red" if row.ready == "False" else "")


# As the CRDs' printer columns: HEAD is the version id, NUMBER its number.
FLOW_COLUMNS = ["flow", "environment", "head", "number", "ready", "sync", "last promotion"]
CLIENT_COLUMNS = ["environment", "client", "application", "flow", "version", "number", "mode", "ready", "note"]


def flow_cells(rows: Sequence[FlowRow], now: dt.datetime) -> list[list[Cell]]:
    return [
        [
            row.flow,
            row.environment,
            row.head,
            row.number,
            ready_cell(row),
            sync_cell(row),
            promotion_cell(row.last_promotion, now),
        ]
        for row in rows
    ]


def mode_cell(view: ClientView) -> Text:
    if view.version is None:
        return Text("unresolved", style="red")
    return Text("follows HEAD", style="cyan") if view.follows_head else Text("pinned")


def client_cells(views: Sequence[ClientView]) -> list[list[Cell]]:
    return [
        [
            v.environment,
            v.name,
            v.application,
            v.flow,
            v.version,
            v.number,
            mode_cell(v),
            v.ready,
            v.message if v.version is None else None,
        ]
        for v in views
    ]


def _same_head_content(session: Session, env: Environment, flow: str, head: str, up_env: Environment, up_head: str) -> bool:
    ours = next((r.content_hash for r in session.records(env, flow) if r.id == head), None)
    theirs = next((r.content_hash for r in session.records(up_env, flow) if r.id == up_head), None)
    return ours is not None and ours == theirs


def compute_sync(
    session: Session,
    env: Environment,
    flow: Mapping[str, Any],
    upstream: Environment | None,
    upstream_flows: Mapping[str, Mapping[str, Any]],
) -> Sync:
    """The operator's comparison when it is about the current HEADs, else computed here."""
    if upstream is None:
        return Sync()
    name = flow["metadata"]["name"]
    up = upstream_flows.get(name)
    if up is None:
        return Sync("UpstreamMissing", upstream.name)
    head, up_head = head_of(flow), head_of(up)
    recorded = (flow.get("status") or {}).get("sync") or {}
    if recorded.get("state") and recorded.get("version") == head and recorded.get("upstreamVersion") == up_head:
        return Sync(recorded["state"], upstream.name, recorded.get("differingPaths"))
    if not head or not up_head:
        return Sync(None, upstream.name)
    if _same_head_content(session, env, name, head, upstream, up_head):
        return Sync("InSync", upstream.name, 0)
    try:
        ours = versions.read_document(session.kube, env.namespace, name, head)
        theirs = versions.read_document(session.kube, upstream.namespace, name, up_head)
    except NotFound:  # a HEAD replaced (or a flow deleted) while we looked: no verdict rather than a wrong one
        return Sync(None, upstream.name)
    return Sync("OutOfSync", upstream.name, changed_paths_count(theirs, ours))


def collect(session: Session, shown: Sequence[Environment], wanted: set[str]) -> list[FlowRow]:
    by_name = {e.name: e for e in session.environments}
    flows: dict[str, dict[str, Mapping[str, Any]]] = {}

    def flows_of(env: Environment) -> dict[str, Mapping[str, Any]]:
        if env.name not in flows:
            items = session.kube.list(FLOWS, env.namespace, page_size=50)
            flows[env.name] = {f["metadata"]["name"]: f for f in items if not wanted or f["metadata"]["name"] in wanted}
        return flows[env.name]

    rows: list[FlowRow] = []
    for env in shown:
        upstream = by_name.get(env.upstream or "")
        here = flows_of(env)
        up_flows = flows_of(upstream) if upstream else {}
        for flow in here.values():
            rows.append(flow_row(env, flow, compute_sync(session, env, flow, upstream, up_flows)))
        for name in up_flows.keys() - here.keys():  # upstream has it, this environment not yet
            rows.append(
                FlowRow(
                    flow=name, environment=env.name, present=False, sync=Sync("NotPromoted", upstream.name if upstream else None)
                )
            )
    position = {e.name: i for i, e in enumerate(shown)}
    return sorted(rows, key=lambda r: (r.flow, position[r.environment]))


def run(session: Session, args: argparse.Namespace) -> int:
    wanted = {check_flow_name(f, command="status") for f in args.flows}
    shown = [session.current_environment()] if session.namespace else session.environments
    rows = collect(session, shown, wanted)
    views = [v for env in shown for v in client_views(session, env) if not wanted or v.flow in wanted]
    out = session.output
    if out.structured:
        out.data(
            {
                "environments": [
                    {"name": e.name, "namespace": e.namespace, "tier": e.tier, "upstream": e.upstream, "protected": e.protected}
                    for e in shown
                ],
                "flows": [r.to_json() for r in rows],
                "clients": [v.to_json() for v in views],
            }
        )
        return 0
    if not rows and not views:
        where = f"in environment {shown[0].label}" if session.namespace else "in any environment"
        out.note(f"No flows found {where}." if shown else "No environments found.")
        return 0
    now = dt.datetime.now(dt.UTC)
    if rows:
        out.table(FLOW_COLUMNS, flow_cells(rows, now), wrap=["last promotion"])
    if views:
        if rows:
            out.line()
        out.table(CLIENT_COLUMNS, client_cells(views), wrap=["note"])
    return 0
