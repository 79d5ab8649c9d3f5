"""From a reference a user typed to a version and its document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.pointer import child, split_pointer
from ..domain.versionid import Selector, VersionNotFound, VersionRef, resolve_selector
from ..services import versions
from .environments import Environment
from .errors import UserError
from .refs import FlowRef
from .session import Session, head_of


@dataclass(frozen=True)
class Resolved:
    environment: Environment
    flow: str
    ref: VersionRef | None  # None: the uncommitted spec.content
    head: str | None
    document: Any

    @property
    def label(self) -> str:
        where = f"{self.environment.name}/{self.flow}"
        if self.ref is None:
            return f"{where} (uncommitted)"
        return f"{where}@{self.ref.number} ({self.ref.id})"

    def describe(self) -> dict[str, Any]:
        return {
            "environment": self.environment.name,
            "namespace": self.environment.namespace,
            "flow": self.flow,
            "version": self.ref.id if self.ref else "uncommitted",
            "number": self.ref.number if self.ref else None,
            "head": self.ref is not None and self.ref.id == self.head,
        }


def resolve_version(session: Session, env: Environment, flow: Mapping[str, Any], selector: Selector) -> VersionRef | None:
    """The version a selector names in this flow; None for uncommitted."""
    if selector.kind == "uncommitted":
        return None
    name = flow["metadata"]["name"]
    records = session.records(env, name)
    try:
        return resolve_selector(selector, [VersionRef(r.id, r.number, r.content_hash) for r in records], head_of(flow))
    except VersionNotFound as exc:
        message, subject = str(exc), f"flow {name} in environment {env.label}"
        possessive = "flow's "
        if message.startswith(possessive):
            message = f"{subject}: its {message[len(possessive) :]}"
        elif message.startswith("flow "):
            message = f"{subject} {message[len('flow ') :]}"
        else:
            message = f"{subject}: {message}"
        raise UserError(message) from None


def load(session: Session, ref: FlowRef, default_env: Environment | None = None) -> Resolved:
    env = session.environment(ref.environment) if ref.environment else (default_env or session.current_environment())
    assert ref.flow is not None
    flow = session.flow(env, ref.flow)
    version = resolve_version(session, env, flow, ref.selector)
    if version is None:
        document = (flow.get("spec") or {}).get("content") or {}
    else:
        document = versions.read_document(session.kube, env.namespace, ref.flow, version.id)
    return Resolved(env, ref.flow, version, head_of(flow), document)


def at_pointer(document: Any, pointer: str) -> Any:
    """The value at a JSON Pointer; UserError naming the deepest part that exists."""
    try:
        tokens = split_pointer(pointer)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    value, walked = document, ""
    for token in tokens:
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value) and (token == "0" or token[0] != "0"):
            value = value[int(token)]
        else:
            if isinstance(value, dict):
                keys = ", ".join(sorted(value)[:15]) + (" …" if len(value) > 15 else "")
                there = f"{walked or 'the document'} has keys: {keys}" if value else f"{walked or 'the document'} is empty"
            elif isinstance(value, list):
                there = f"{walked} is an array of {len(value)} items"
            else:
                there = f"{walked} is not an object or array"
            raise UserError(f"nothing at {pointer}: {there}")
        walked = child(walked, token)
    return value
