"""Diff: a 1 MiB identity flow with 40 locales and long arrays, edited the way reviewers
edit (a step inserted, one removed, one moved, a text changed, a URL added), diffed into
the granular plan a Promotion shows. In-process: the diff is pure, the cluster plays no part.
The baseline is parsing the same document with json.loads (what reading a version costs
at least); jsonpatch.make_patch is shown for reference (no identifying keys)."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import jsonpatch

from flowops.domain.canonical import canonical_json
from flowops.domain.diff import diff
from flowops.domain.patch import apply_changes
from flowops.testing import documents

from ..harness import Bench
from ..report import Row
from ..stats import Summary
from . import Params, Result

NAME = "diff"
TARGET_BYTES = 1 << 20
STEPS = 1_500
URLS = 2_000
REPEATS = 15
TARGET_SECONDS = 0.050


def document() -> dict[str, Any]:
    """40 locales, a journey of STEPS steps (identified by id) and URLS allowed URLs,
    trimmed to 1 MiB of canonical JSON by dropping the same texts from every locale."""
    doc = documents.identity_flow(locales=documents.available_locales()[:40])
    doc["journey"] = {
        "steps": [
            {
                "id": f"step-{i:04d}",
                "type": ("form", "email", "condition")[i % 3],
                "next": f"step-{i + 1:04d}",
                "label": f"journey.step.{i}",
            }
            for i in range(STEPS)
        ]
    }
    doc["allowedRedirects"] = [f"https://app{i}.example.com/callback" for i in range(URLS)]
    keys = sorted(doc["translations"][doc["defaultLocale"]])
    while len(canonical_json(doc)) > TARGET_BYTES and keys:
        for key in keys[-20:]:
            for texts in doc["translations"].values():
                texts.pop(key, None)
        del keys[-20:]
    return doc


def edit(doc: dict[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    steps = new["journey"]["steps"]
    steps.insert(700, {"id": "step-new", "type": "form", "next": "step-0700", "label": "journey.step.new"})
    del steps[100]
    steps.insert(1200, steps.pop(300))
    steps[900]["label"] = "journey.step.renamed"
    locale = new["defaultLocale"]
    key = sorted(new["translations"][locale])[0]
    new["translations"][locale][key] = "Sign in (edited)"
    new["allowedRedirects"].insert(1000, "https://new.example.com/callback")
    return new


def _time(fn: Any, repeats: int) -> Summary:
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - began)
    return Summary.of(samples)


def run(bench: Bench, p: Params) -> Result:
    doc = document()
    raw = canonical_json(doc)
    # Two separately parsed documents: nothing shared, as when two stored versions are read.
    old, new = json.loads(raw), json.loads(canonical_json(edit(doc)))
    changes = diff(old, new)
    assert apply_changes(old, changes) == new
    ops = [c.op for c in changes]
    assert len(changes) == 6 and sorted(ops) == ["add", "add", "move", "remove", "replace", "replace"], ops
    d_sum = _time(lambda: diff(old, new), REPEATS)
    p_sum = _time(lambda: json.loads(raw), REPEATS)
    lib = _time(lambda: jsonpatch.make_patch(old, new), 3)
    lib_ops = len(jsonpatch.make_patch(old, new).patch)
    bench.log(
        f"diff: {len(raw):,} bytes, {len(changes)} changes: p50 {d_sum.p50 * 1000:.1f} ms "
        f"(json.loads p50 {p_sum.p50 * 1000:.1f} ms; jsonpatch.make_patch p50 {lib.p50 * 1000:.0f} ms, {lib_ops} ops)"
    )
    rows = [
        Row(
            NAME,
            f"diff of a {len(raw) // 1024} KiB flow, 40 locales, {STEPS} steps, {URLS} URLs, 6 edits (p50)",
            d_sum.p50,
            "s",
            p_sum.p50,
            "json.loads of the same document (p50)",
            f"<= {TARGET_SECONDS * 1000:.0f} ms",
            d_sum.p50 <= TARGET_SECONDS,
            f"{len(changes)} changes (1 per edit); jsonpatch.make_patch: {lib.p50 * 1000:.0f} ms, {lib_ops} ops",
        ),
    ]
    details = {
        "document_bytes": len(raw),
        "changes": [(c.op, c.path, c.source) for c in changes],
        "diff": d_sum.as_dict(),
        "parse": p_sum.as_dict(),
        "jsonpatch_make_patch": lib.as_dict(),
        "jsonpatch_ops": lib_ops,
    }
    return rows, details
