"""Which flow version each ApiClient uses, and why.

The operator's status is the truth once it has observed the client's current spec; until
then (or when it cannot resolve) the CLI resolves the same way from the specs, so the
on-call view never shows a blank.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..domain.binding import Resolution, head_allowed, resolve_request
from ..domain.versionid import VersionNotFound, VersionRef, parse_selector, resolve_selector
from ..kube import APICLIENTS, APPLICATIONS, FLOWS, NotFound
from .environments import Environment
from .session import Session, head_of


@dataclass(frozen=True)
class ClientView:
    name: str
    environment: str
    application: str | None
    request: Resolution
    flow: str | None = None
    version: str | None = None
    number: int | None = None
    follows_head: bool = False
    ready: str | None = None  # the Ready condition's status, when the operator wrote one
    message: str | None = None  # why it is not resolved, or the operator's message
    resolved_by: str = "operator"  # "operator" (status) or "cli" (computed from the specs)
    status: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "environment": self.environment,
            "application": self.application,
            "flow": self.flow,
            "version": self.version,
            "number": self.number,
            "followsHead": self.follows_head,
            "requested": {"name": self.request.name, "version": self.request.version},
            "sources": {"name": self.request.name_source, "version": self.request.version_source},
            "ready": self.ready,
            "message": self.message,
            "resolvedBy": self.resolved_by,
        }


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def _status_is_current(client: Mapping[str, Any]) -> bool:
    status = client.get("status") or {}
    observed = status.get("observedGeneration")
    return bool(status.get("flow") and status.get("version")) and (
        observed is None or observed >= (client["metadata"].get("generation") or 0)
    )


def view(
    session: Session, env: Environment, client: Mapping[str, Any], applications: Mapping[str, Mapping[str, Any]]
) -> ClientView:
    meta, spec, status = client["metadata"], client.get("spec") or {}, client.get("status") or {}
    app_name = spec.get("application") or None
    app = applications.get(app_name) if app_name else None
    request = resolve_request(spec, (app or {}).get("spec") if app is not None else None)
    # A client waiting for a Promotion awaiting approval has no Ready: Resolved says why.
    ready = _condition(client, "Ready") or _condition(client, "Resolved")
    base = dict(
        name=meta["name"], environment=env.name, application=app_name, request=request, ready=ready.get("status"), status=status
    )
    if _status_is_current(client):
        return ClientView(
            **base,
            flow=status["flow"],
            version=status["version"],
            number=status.get("number"),
            follows_head=bool(status.get("followsHead")),
            message=ready.get("message"),
        )
    _, ref, problem = local_resolution(session, env, request)
    return ClientView(
        **base,
        flow=request.name,
        version=ref.id if ref else None,
        number=ref.number if ref else None,
        follows_head=ref is not None and parse_selector(request.version or "").kind == "head",
        message=problem or ready.get("message"),
        resolved_by="cli",
    )


def local_resolution(
    session: Session, env: Environment, request: Resolution
) -> tuple[Mapping[str, Any] | None, VersionRef | None, str | None]:
    """(flow, version, problem): the request resolved against the flow's versions."""
    if not request.resolved or request.name is None or request.version is None:
        return None, None, request.missing_message
    refused = head_allowed(request.version, env.allow_head, env.name)
    if refused:
        return None, None, refused
    try:
        selector = parse_selector(request.version)
    except ValueError as exc:
        return None, None, str(exc)
    try:
        flow = session.kube.get(FLOWS, request.name, env.namespace)
    except NotFound:
        return None, None, f"flow {request.name} does not exist in environment {env.label}"
    records = session.records(env, request.name)
    try:
        ref = resolve_selector(selector, [VersionRef(r.id, r.number, r.content_hash) for r in records], head_of(flow))
    except (VersionNotFound, ValueError) as exc:
        return flow, None, f"{request.name}: {exc}"
    return flow, ref, None


def applications(session: Session, env: Environment) -> dict[str, Mapping[str, Any]]:
    return {a["metadata"]["name"]: a for a in session.kube.list(APPLICATIONS, env.namespace)}


def client_views(session: Session, env: Environment) -> list[ClientView]:
    apps = applications(session, env)
    clients = sorted(session.kube.list(APICLIENTS, env.namespace), key=lambda c: c["metadata"]["name"])
    return [view(session, env, c, apps) for c in clients]
