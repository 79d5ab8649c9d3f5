"""The benchmark report: one row per figure, each next to its same-run baseline.

Written twice from the same data: report.json for tools, report.md for people.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    scenario: str
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    # Target as text ("<= 3x baseline") and whether this run met it; None when not applicable.
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def writes_row(scenario: str, figure: str, writes: int, note: str, target: str = "0") -> Row:
    """A count of writes where there must be none."""
    return Row(scenario, figure, float(writes), "count", target=target, met=writes == 0, note=note)


def not_run(scenario: str, figure: str, reason: str, target: str = "") -> Row:
    """A scenario that could not run reports why, never a number."""
    return Row(scenario, figure, None, "", target=target, note=f"not run: {reason}")


def machine() -> dict[str, Any]:
    facts: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    meminfo = _read("/proc/meminfo")
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            facts["memory_mib"] = int(line.split()[1]) // 1024
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            facts["cpu_model"] = line.split(":", 1)[1].strip()
            break
    facts["loadavg"] = load_average()
    return facts


def load_average() -> list[float]:
    # The machine may be shared: the load before and after a run says how much.
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "bytes":
        return f"{value / 1024:,.0f} KiB" if value < 10 * 1024 * 1024 else f"{value / 1024 / 1024:,.1f} MiB"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "MiB":
        return f"{value:,.1f} MiB"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:,.3g} {unit}".strip()


@dataclass
class Report:
    parameters: dict[str, Any]
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    machine: dict[str, Any] = field(default_factory=machine)
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    finished: dt.datetime | None = None
    load_after: list[float] = field(default_factory=list)

    def add(self, rows: list[Row], details: dict[str, Any] | None = None) -> None:
        self.rows.extend(rows)
        if details and rows:
            self.details[rows[0].scenario] = details

    def finish(self) -> None:
        self.finished = dt.datetime.now(dt.UTC)
        self.load_after = load_average()

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started.isoformat(timespec="seconds"),
            "finished": self.finished.isoformat(timespec="seconds") if self.finished else None,
            "machine": {**self.machine, "loadavg_after": self.load_after},
            "parameters": self.parameters,
            "rows": [r.as_dict() for r in self.rows],
            "details": self.details,
        }

    def markdown(self) -> str:
        m = self.machine
        duration = (self.finished - self.started).total_seconds() if self.finished else 0.0
        lines = [
            "# flowops benchmarks",
            "",
            f"Run {self.started:%Y-%m-%d %H:%M} UTC, {duration / 60:.1f} min. "
            f"Machine: {m.get('cpus')} CPUs ({m.get('cpu_model', 'unknown model')}), "
            f"{m.get('memory_mib', 0):,} MiB memory, {m.get('platform')}, Python {m.get('python')}. "
            f"Load average before {m.get('loadavg')}, after {self.load_after}.",
            "",
            "Parameters: " + ", ".join(f"`{k}={v}`" for k, v in self.parameters.items() if k != "out") + ".",
            "",
            "Every baseline was measured in the same run, against the same control plane. "
            "Timings: p50 and p99 (nearest rank) over the repetitions stated.",
            "",
            "| Scenario | Figure | Value | Baseline | Ratio | Target | Met |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
            met = "—" if r.met is None else ("yes" if r.met else "**no**")
            baseline = fmt(r.baseline, r.unit) + (f" ({r.baseline_label})" if r.baseline_label and r.baseline is not None else "")
            value = fmt(r.value, r.unit) if r.value is not None else r.note
            lines.append(f"| {r.scenario} | {r.figure} | {value} | {baseline} | {ratio} | {r.target or '—'} | {met} |")
        notes = [r for r in self.rows if r.note and r.value is not None]
        if notes:
            lines += ["", "Notes:", ""]
            lines += [f"- {r.scenario} / {r.figure}: {r.note}" for r in notes]
        return "\n".join(lines) + "\n"

    def write(self, out: Path) -> tuple[Path, Path]:
        out.mkdir(parents=True, exist_ok=True)
        md, js = out / "report.md", out / "report.json"
        md.write_text(self.markdown())
        js.write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n")
        return md, js
