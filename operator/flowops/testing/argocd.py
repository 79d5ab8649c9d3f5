"""Runs the shipped Argo CD health checks the way Argo CD does: the Lua script with the
live object as the global `obj` (Argo CD embeds Lua 5.1), returning (status, message)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lupa.lua51 as lua51

MANIFESTS = Path(__file__).resolve().parents[3] / "manifests" / "argocd"


def script(kind: str) -> str:
    return (MANIFESTS / "resource_customizations" / "flowops.io" / kind / "health.lua").read_text()


def _table(runtime: Any, value: Any) -> Any:
    if isinstance(value, Mapping):
        return runtime.table_from({k: _table(runtime, v) for k, v in value.items()})
    if isinstance(value, list):
        return runtime.table_from([_table(runtime, v) for v in value])  # 1-based, as ipairs expects
    return value


def health(kind: str, obj: Mapping[str, Any], source: str | None = None) -> tuple[str, str]:
    runtime = lua51.LuaRuntime(unpack_returned_tuples=True)
    runtime.globals().obj = _table(runtime, obj)
    result = runtime.execute(source if source is not None else script(kind))
    return result["status"], result["message"] or ""
