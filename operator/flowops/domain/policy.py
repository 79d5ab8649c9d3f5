"""Effective environment policy: the defaults the design gives to unset fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_HISTORY_LIMIT = 100
DEFAULT_PROMOTION_HISTORY_LIMIT = 100


def protected(env_spec: Mapping[str, Any] | None) -> bool:
    if not env_spec:
        return False
    value = env_spec.get("protected")
    return bool(value) if value is not None else env_spec.get("tier") == "Production"


def allow_head_bindings(env_spec: Mapping[str, Any] | None) -> bool:
    if not env_spec:
        return True
    value = (env_spec.get("policy") or {}).get("allowHeadBindings")
    return bool(value) if value is not None else not protected(env_spec)


def history_limit(env_spec: Mapping[str, Any] | None, flow_spec: Mapping[str, Any] | None) -> int:
    own = ((flow_spec or {}).get("versioning") or {}).get("historyLimit")
    if own:
        return int(own)
    inherited = (((env_spec or {}).get("policy") or {}).get("historyLimit"))
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
