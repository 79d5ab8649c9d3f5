"""API requests the operator made, read from its own Prometheus counter."""

from __future__ import annotations

import re
import urllib.request

from .harness import Bench
from .report import Row

_SAMPLE = re.compile(r"^flowops_api_requests_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")


def api_requests(bench: Bench, answered_only: bool = False) -> dict[str, float]:
    """Requests so far by "client verb resource" (watches count once, when they start).
    `answered_only`: only those the API server answered with success."""
    assert bench.operator is not None
    with urllib.request.urlopen(bench.operator.metrics_url, timeout=10) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if answered_only and not labels.get("code", "").startswith("2"):
            continue
        key = f"{labels.get('client', '?')} {labels.get('verb', '?')} {labels.get('resource', '?')}"
        counts[key] = counts.get(key, 0.0) + float(match["value"])
    return counts


def per_operation(before: dict[str, float], after: dict[str, float], operations: int) -> dict[str, float]:
    """Requests per operation by client and verb between two readings, and in total."""
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after.keys() | before.keys()}
    out = {k: round(v / max(1, operations), 2) for k, v in sorted(delta.items()) if v}
    out["total"] = round(sum(delta.values()) / max(1, operations), 2)
    return out


def requests_row(scenario: str, figure: str, requests: dict[str, float]) -> Row:
    """A report row of per_operation's result: the total, broken down in the note."""
    return Row(
        scenario,
        figure,
        requests["total"],
        "requests",
        target="reported (no target)",
        note=", ".join(f"{k}: {v}" for k, v in requests.items() if k != "total"),
    )
