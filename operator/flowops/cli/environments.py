"""Environments as the CLI sees them, and how `-n` picks one (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..domain import policy
from .errors import UserError


@dataclass(frozen=True)
class Environment:
    name: str
    namespace: str
    tier: str | None = None
    upstream: str | None = None
    protected: bool = False
    allow_head: bool = True
    managed: bool = True  # False: a namespace that no Environment claims
    values: tuple[tuple[str, str], ...] = ()  # spec.values, for show --rendered
    review_required: bool = False  # Promotions into it need spec.review and an approval

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Environment:
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        # Prefer the operator's effective values; the same defaults apply before it has run.
        protected = status.get("protected")
        allow_head = status.get("allowHeadBindings")
        return cls(
            name=obj["metadata"]["name"],
            namespace=spec.get("namespace", ""),
            tier=spec.get("tier"),
            upstream=spec.get("upstream") or None,
            protected=bool(protected) if protected is not None else policy.protected(spec),
            allow_head=bool(allow_head) if allow_head is not None else policy.allow_head_bindings(spec),
            values=tuple(sorted((str(k), v) for k, v in (spec.get("values") or {}).items() if isinstance(v, str))),
            review_required=policy.require_review(spec),
        )

    @classmethod
    def bare_namespace(cls, namespace: str) -> Environment:
        return cls(name=namespace, namespace=namespace, managed=False)

    @property
    def label(self) -> str:
        """How messages name it: `production` or, for a bare namespace, `namespace x`."""
        return self.name if self.managed else f"namespace {self.namespace}"


def order(environments: Sequence[Environment]) -> list[Environment]:
    """Promotion order: each chain from its root down (development, staging, production)."""
    by_name = {e.name: e for e in environments}
    children: dict[str | None, list[Environment]] = {}
    for env in environments:
        parent = env.upstream if env.upstream in by_name and env.upstream != env.name else None
        children.setdefault(parent, []).append(env)
    out: list[Environment] = []
    seen: set[str] = set()

    def visit(env: Environment) -> None:
        if env.name in seen:
            return
        seen.add(env.name)
        out.append(env)
        for child in sorted(children.get(env.name, []), key=lambda e: e.name):
            visit(child)

    for root in sorted(children.get(None, []), key=lambda e: e.name):
        visit(root)
    for env in sorted(environments, key=lambda e: e.name):  # cycles have no root; show them anyway
        visit(env)
    return out


def pick(environments: Sequence[Environment], wanted: str) -> Environment | None:
    """An Environment by name, else the one that owns namespace `wanted`."""
    for env in environments:
        if env.name == wanted:
            return env
    for env in environments:
        if env.namespace == wanted:
            return env
    return None


def unknown(wanted: str, environments: Sequence[Environment]) -> UserError:
    listed = [f"{e.name} ({e.namespace})" for e in order(environments)]
    known = ", ".join(listed[:20]) + (f" and {len(listed) - 20} more" if len(listed) > 20 else "") if listed else "none"
    return UserError(
        f"unknown environment {wanted!r}: no Environment has that name or namespace",
        hint=f"environments (namespace): {known}",
    )
