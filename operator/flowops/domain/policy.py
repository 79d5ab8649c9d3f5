"""Effective environment policy: the defaults the design gives to unset fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DEFAULT_HISTORY_LIMIT = 100
DEFAULT_PROMOTION_HISTORY_LIMIT = 100


def protected(env_spec: Mapping[str, Any] | None) -> bool:
    """Unset: Production, and every environment with an upstream (only the lowest of a
    chain is edited; the others take content by promotion)."""
    if not env_spec:
        return False
    value = env_spec.get("protected")
    if value is not None:
        return bool(value)
    return env_spec.get("tier") == "Production" or bool(env_spec.get("upstream"))


def _promotion(env_spec: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((env_spec or {}).get("policy") or {}).get("promotion") or {}


def allowed_sources(env_name: str, env_spec: Mapping[str, Any] | None) -> list[str]:
    """Environments Promotions into this one may come from; itself (rollback) always."""
    listed = _promotion(env_spec).get("allowedSources")
    if listed is None:
        upstream = (env_spec or {}).get("upstream")
        listed = [upstream] if upstream else []
    return [*listed, *([] if env_name in listed else [env_name])]


def _flag(env_spec: Mapping[str, Any] | None, key: str, default: bool) -> bool:
    value = _promotion(env_spec).get(key)
    return bool(value) if value is not None else default


def require_review(env_spec: Mapping[str, Any] | None) -> bool:
    return _flag(env_spec, "requireReview", protected(env_spec))


def separation_of_duties(env_spec: Mapping[str, Any] | None) -> bool:
    return _flag(env_spec, "separationOfDuties", protected(env_spec))


def allow_head_source(env_spec: Mapping[str, Any] | None) -> bool:
    return _flag(env_spec, "allowHeadSource", not protected(env_spec))


def allow_uncommitted_source(env_spec: Mapping[str, Any] | None) -> bool:
    """Honoured only for Development targets."""
    return (env_spec or {}).get("tier") == "Development" and _flag(env_spec, "allowUncommittedSource", False)


def approver_groups(env_spec: Mapping[str, Any] | None) -> list[str] | None:
    groups = _promotion(env_spec).get("approverGroups")
    return list(groups) if groups is not None else None


def in_approver_groups(reserved: Sequence[str] | None, groups: Iterable[str] | None) -> bool:
    """Whether someone in `groups` may approve where approvals are reserved to `reserved`
    (None: not reserved). Unknown groups are in none."""
    return reserved is None or bool(set(reserved) & set(groups or ()))


def gitops_approvers(env_spec: Mapping[str, Any] | None) -> list[str]:
    """The listed GitOps approvers that may approve: an Environment stored before admission
    refused the others still lists them, and they count for nothing."""
    namespace = (env_spec or {}).get("namespace")
    return [u for u in _promotion(env_spec).get("gitopsApprovers") or [] if gitops_approver_problem(u, namespace) is None]


# The same two rules as the Environment CRD's, for Environments stored before them.
SERVICE_ACCOUNT = re.compile(r"system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?")
GITOPS_CONTROLLERS = (
    "kustomize-controller",
    "helm-controller",
    "argocd-application-controller",
    "argocd-applicationset-controller",
    "argocd-server",
)
# Installs that prefix the names (OpenShift GitOps: openshift-gitops-argocd-application-controller).
CONTROLLER_PREFIX = "([-.a-z0-9]*-)?"


def gitops_approver_problem(username: str, namespace: str | None = None) -> str | None:
    """Why `username` cannot stand for a reviewed pull request (in the environment of
    `namespace`), or None."""
    if not SERVICE_ACCOUNT.fullmatch(username):
        return f"'{username}' is not a ServiceAccount: a GitOps approver is the ServiceAccount one sync applies as"
    if namespace and username.startswith(f"system:serviceaccount:{namespace}:"):
        return (
            f"'{username}' is a ServiceAccount in the environment's own namespace {namespace}, where anyone who may "
            "create pods or impersonate ServiceAccounts could approve as it"
        )
    account = username.rsplit(":", 1)[1]
    if any(account == name or account.endswith("-" + name) for name in GITOPS_CONTROLLERS):
        return (
            f"'{username}' is a GitOps controller's own identity, which every sync without its own ServiceAccount "
            "applies as: list the ServiceAccount of the one sync that applies the reviewed directory"
        )
    return None


def freeze(env_spec: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return (env_spec or {}).get("freeze")


def allow_head_bindings(env_spec: Mapping[str, Any] | None) -> bool:
    if not env_spec:
        return True
    value = (env_spec.get("policy") or {}).get("allowHeadBindings")
    return bool(value) if value is not None else not protected(env_spec)


def history_limit(env_spec: Mapping[str, Any] | None, flow_spec: Mapping[str, Any] | None) -> int:
    own = ((flow_spec or {}).get("versioning") or {}).get("historyLimit")
    if own:
        return int(own)
    inherited = ((env_spec or {}).get("policy") or {}).get("historyLimit")
    return int(inherited or DEFAULT_HISTORY_LIMIT)


def promotion_history_limit(env_spec: Mapping[str, Any] | None) -> int:
    """Finished Promotions kept per target flow in the environment's namespace."""
    value = ((env_spec or {}).get("policy") or {}).get("promotionHistoryLimit")
    return int(value) if value else DEFAULT_PROMOTION_HISTORY_LIMIT


def guardrail_specs(env_spec: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return list(((env_spec or {}).get("policy") or {}).get("guardrails") or [])


# Always on: a reference the environment cannot render never reaches a client.
VALUES_RULE = "values-defined"


def guardrails_of(env: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The Environment's guardrails plus the built-in check of value references (its
    parameters change, and so flows are judged again, when the defined names change)."""
    env = env or {}
    spec = env.get("spec") or {}
    name = (env.get("metadata") or {}).get("name") or "(none: no Environment manages this namespace)"
    defined = sorted(k for k, v in (spec.get("values") or {}).items() if isinstance(v, str))
    implicit = {"name": VALUES_RULE, "builtin": "valuesDefined", "parameters": {"environment": name, "defined": defined}}
    return [*guardrail_specs(spec), implicit]
