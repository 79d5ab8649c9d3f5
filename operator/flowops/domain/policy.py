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
