"""API clients: `pin` one to a version, `why` explains where its flow and version come from."""

from __future__ import annotations

import argparse
import copy
from collections.abc import Mapping
from typing import Any

from rich.text import Text

from ...domain.binding import Resolution, head_allowed, resolve_request
from ...kube import APICLIENTS, APPLICATIONS, Forbidden, NotFound
from ..bindings import ClientView, local_resolution, view
from ..environments import Environment
from ..errors import Denied, UserError
from ..output import Cell
from ..parser import add_command, committed_version
from ..refs import check_flow_name
from ..session import Session


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    pin = add_command(
        commands,
        common,
        "pin",
        "set the version an API client uses",
        "Set spec.defaultFlow.version of the ApiClient CLIENT (in -n's environment): a version id or\n"
        "number pins it; HEAD makes it follow the newest good version (where the policy allows).\n"
        "The setting on the client wins over its Application's.",
    )
    pin.add_argument("client", metavar="CLIENT")
    pin.add_argument(
        "--version",
        type=committed_version("API clients use committed versions: pin HEAD, a version id or a number"),
        required=True,
        metavar="SEL",
        help="HEAD, a version id or a version number",
    )
    pin.add_argument("--flow", metavar="NAME", help="also set the flow name on the client")
    pin.set_defaults(run=run_pin)

    why = add_command(
        commands,
        common,
        "why",
        "explain which flow and version an API client uses, and why",
        "Show each setting of CLIENT (flow name, version) on the client and on its Application, which\n"
        "one wins, and the version it resolves to.",
    )
    why.add_argument("client", metavar="CLIENT")
    why.set_defaults(run=run_why)


def _client(session: Session, env: Environment, name: str) -> dict[str, Any]:
    try:
        return session.kube.get(APICLIENTS, name, env.namespace)
    except NotFound:
        present = sorted(c["metadata"]["name"] for c in session.kube.list(APICLIENTS, env.namespace, metadata_only=True))
        raise UserError(
            f"apiclient {name!r} not found in environment {env.label} (namespace {env.namespace})",
            hint=f"API clients there: {', '.join(present)}" if present else "there are no API clients there",
        ) from None


def _application(session: Session, env: Environment, client: Mapping[str, Any]) -> Mapping[str, Any] | None:
    name = (client.get("spec") or {}).get("application")
    return session.kube.get_or_none(APPLICATIONS, name, env.namespace) if name else None


def run_pin(session: Session, args: argparse.Namespace) -> int:
    selector = args.version
    setting: dict[str, Any] = {"version": str(selector)}
    if args.flow:  # before the cluster is asked anything
        setting["name"] = check_flow_name(args.flow, command="pin --flow", version_flag="--version")
    env = session.current_environment()
    client = _client(session, env, args.client)
    spec = copy.deepcopy(client.get("spec") or {})
    spec.setdefault("defaultFlow", {}).update(setting)
    app = _application(session, env, client)
    request = resolve_request(spec, (app or {}).get("spec") if app else None)
    if request.name is None:
        raise UserError(f"{request.missing_message}", hint="or pass --flow NAME to set it on the client")
    refused = head_allowed(str(selector), env.allow_head, env.name)
    if refused:
        raise UserError(refused)
    _, ref, problem = local_resolution(session, env, request)
    if problem or ref is None:
        raise UserError(problem or "the version does not resolve")
    try:
        session.kube.merge_patch(APICLIENTS, args.client, {"spec": {"defaultFlow": setting}}, env.namespace)
    except Forbidden as exc:
        raise Denied(exc.message) from None
    following = selector.kind == "head"
    out = session.output
    if out.structured:
        out.data(
            {
                "name": args.client,
                "environment": env.name,
                "flow": request.name,
                "requested": str(selector),
                "version": ref.id,
                "number": ref.number,
                "followsHead": following,
            }
        )
    elif following:
        out.line(
            f"apiclient {args.client} in environment {env.name} follows HEAD of {request.name} "
            f"(now version {ref.number}, {ref.id})"
        )
    else:
        out.line(f"apiclient {args.client} in environment {env.name} pinned to {request.name} version {ref.number} ({ref.id})")
    return 0


def explain_source(kind: str, setting: str, client: str, app: str | None) -> str:
    """Where one setting came from, naming the object and field to change."""
    if kind == "ApiClient":
        return f"ApiClient {client} (spec.defaultFlow.{setting})"
    if kind == "Application":
        return f"Application {app} (spec.defaultFlow.{setting})"
    if kind == "Default":
        return "default: no version is set on the client or its application, so HEAD"
    return "set nowhere"


SETTINGS_COLUMNS = ["setting", "apiclient", "application", "used", "from"]


def settings_cells(
    request: Resolution, client_spec: Mapping[str, Any], app_spec: Mapping[str, Any] | None, client: str
) -> list[list[Cell]]:
    """One row per setting: its value on the client, on the application, and which one is used."""
    rows: list[list[Cell]] = []
    for setting, value, source in (
        ("name", request.name, request.name_source),
        ("version", request.version, request.version_source),
    ):
        own = ((client_spec or {}).get("defaultFlow") or {}).get(setting)
        inherited = ((app_spec or {}).get("defaultFlow") or {}).get(setting) if app_spec is not None else None
        used = Text(str(value), style="bold") if value is not None else Text("-", style="red")
        rows.append([setting, own, inherited, used, explain_source(source, setting, client, request.application)])
    return rows


def resolution_lines(v: ClientView, env: Environment) -> list[tuple[str, Cell]]:
    if v.version:
        follows = ", follows HEAD" if v.follows_head else ", pinned"
        resolved: Cell = Text(f"{v.flow} version {v.number} ({v.version}){follows}", style="green")
    else:
        resolved = Text(f"nothing: {v.message or 'not resolved'}", style="red")
    by = (
        "the operator (status)"
        if v.resolved_by == "operator"
        else "computed here from the specs (the operator has not resolved this client's current spec)"
    )
    lines: list[tuple[str, Cell]] = [("resolves to", resolved), ("resolved by", by)]
    if v.status.get("configMap"):
        lines.append(("configmap", str(v.status["configMap"])))
    if v.status.get("values"):
        names = ", ".join(sorted(v.status["values"]))
        lines.append(("values", f"rendered with {names} of environment {env.name} (kubectl flowops show --rendered)"))
    if v.status.get("transition"):
        lines.append(("transition", str(v.status["transition"])))
    if v.ready:
        lines.append(("ready", v.ready + (f": {v.message}" if v.message else "")))
    if v.follows_head is False and v.version and not env.allow_head:
        lines.append(("policy", f"environment {env.name} does not allow clients to follow HEAD"))
    return lines


def run_why(session: Session, args: argparse.Namespace) -> int:
    env = session.current_environment()
    client = _client(session, env, args.client)
    app = _application(session, env, client)
    v = view(session, env, client, {app["metadata"]["name"]: app} if app else {})
    request, client_spec = v.request, client.get("spec") or {}
    app_spec = app.get("spec") if app else None
    out = session.output
    if out.structured:
        out.data(
            {
                **v.to_json(),
                "explanation": {
                    s: explain_source(k, s, args.client, request.application)
                    for s, k in (("name", request.name_source), ("version", request.version_source))
                },
                "applicationExists": app is not None if request.application else None,
            }
        )
        return 0
    header = f"apiclient {args.client} in environment {env.label} (namespace {env.namespace})"
    if request.application:
        header += f", application {request.application}" + ("" if app else " (does not exist)")
    out.line(Text(header, style="bold"))
    out.line()
    out.table(SETTINGS_COLUMNS, settings_cells(request, client_spec, app_spec, args.client))
    out.line()
    width = max(len(k) for k, _ in resolution_lines(v, env))
    for key, value in resolution_lines(v, env):
        line = Text(f"{key + ':':<{width + 2}}")
        line.append_text(value if isinstance(value, Text) else Text(str(value)))
        out.line(line)
    return 0
