"""Guardrails: every built-in on a 1 MiB identity flow with 40 locales [parsing that
document from JSON]. In-process: evaluation is pure, so the cluster plays no part."""

from __future__ import annotations

import json
import time

from flowops.domain import guardrails
from flowops.domain.canonical import canonical_json
from flowops.testing import documents

from ..harness import Bench
from ..report import Row
from ..stats import Summary
from . import Params, Result

NAME = "guardrails"
RULES = [
    {"name": "form-fields-exist", "builtin": "formFieldsExist"},
    {
        "name": "sign-in-keeps-password",
        "builtin": "requiredFields",
        "parameters": {"forms": {"signInForm": ["identifier", "currentPassword"]}},
    },
    {"name": "translations-complete", "builtin": "translationsComplete"},
    {"name": "placeholders-match", "builtin": "placeholdersMatch"},
    {"name": "max-document-size", "builtin": "maxDocumentSize", "parameters": {"bytes": 2_000_000}},
]
REPEATS = 15


def run(bench: Bench, p: Params) -> Result:
    locales = documents.available_locales()[:40]
    document = documents.identity_flow(locales=locales)
    raw = canonical_json(document)
    compiled = guardrails.compile_rules(RULES)
    assert compiled.valid and all(r.passed for r in guardrails.evaluate(compiled, document))
    parse, evaluate = [], []
    for _ in range(REPEATS):
        began = time.perf_counter()
        json.loads(raw)
        parse.append(time.perf_counter() - began)
        began = time.perf_counter()
        guardrails.evaluate(compiled, document)
        evaluate.append(time.perf_counter() - began)
    p_sum, e_sum = Summary.of(parse), Summary.of(evaluate)
    bench.log(
        f"guardrails: {len(raw):,} bytes, {len(locales)} locales: evaluate p50 {e_sum.p50 * 1000:.1f} ms, parse p50 {p_sum.p50 * 1000:.1f} ms"
    )
    rows = [
        Row(
            NAME,
            f"all built-ins, {len(raw) // 1024} KiB flow, {len(locales)} locales (p50)",
            e_sum.p50,
            "s",
            p_sum.p50,
            "json.loads of the same document (p50)",
            "reported (no target)",
            None,
        )
    ]
    return rows, {"document_bytes": len(raw), "locales": len(locales), "evaluate": e_sum.as_dict(), "parse": p_sum.as_dict()}
