"""Numeric settings the operator reads from its environment, checked once before start-up.

A mistyped value stops the operator with a line naming the variable and what it takes,
not a traceback from wherever the value is first used."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: float
    minimum: float
    meaning: str
    whole: bool = True


SETTINGS = {
    setting.name: setting
    for setting in (
        Setting("FLOWOPS_MAX_WORKERS", 8, 1, "handler threads"),
        Setting("FLOWOPS_PEERING_LIFETIME", 15, 1, "seconds before a silent replica is declared dead"),
        Setting("FLOWOPS_KEYFRAME_CACHE_BYTES", 2 << 20, 0, "bytes of decoded keyframes kept"),
        Setting("FLOWOPS_PACKED_KEYFRAME_CACHE_BYTES", 16 << 20, 0, "bytes of packed keyframes kept"),
        Setting("FLOWOPS_RECORD_CACHE", 50_000, 0, "version records kept"),
        Setting("FLOWOPS_MALLOC_ARENAS", 2, 0, "glibc malloc arenas; 0 keeps glibc's default"),
        Setting("FLOWOPS_GC_THRESHOLD", 0, 0, "allocations between young-generation collections; 0 keeps CPython's"),
        Setting("FLOWOPS_LIST_CHUNK_SIZE", 100, 0, "objects per page when listing at start-up; 0 lists in one response"),
        Setting("FLOWOPS_METRICS_FLOW_INFO_LIMIT", 20_000, 0, "flows given an info series"),
        Setting("FLOWOPS_METRICS_SWEEP_INTERVAL", 300, 0, "seconds between state sweeps; 0 turns them off", whole=False),
    )
}


class SettingError(ValueError):
    pass


def _parse(setting: Setting, environ: Mapping[str, str]) -> float:
    raw = environ.get(setting.name, "").strip()
    if not raw:  # unset, or set to "" by a template: the default
        return setting.default
    kind = "a whole number" if setting.whole else "a number"
    try:
        value = int(raw) if setting.whole else float(raw)
    except ValueError:
        value = None
    if value is None or value < setting.minimum or value != value:  # value != value: NaN
        raise SettingError(
            f"{setting.name}={raw!r} is not {kind} ≥ {setting.minimum:g} ({setting.meaning}); "
            f"set it to one, or unset it for the default {setting.default:.15g}"
        )
    return value


def integer(name: str, environ: Mapping[str, str] | None = None) -> int:
    return int(_parse(SETTINGS[name], os.environ if environ is None else environ))


def number(name: str, environ: Mapping[str, str] | None = None) -> float:
    return float(_parse(SETTINGS[name], os.environ if environ is None else environ))


def problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every setting that does not parse, each in words that name it and its fix."""
    found = []
    for setting in SETTINGS.values():
        try:
            _parse(setting, os.environ if environ is None else environ)
        except SettingError as error:
            found.append(str(error))
    return found
