"""Memoised guardrail verdicts: the same results as evaluating, computed once per document."""

from __future__ import annotations

from flowops.domain import guardrails
from flowops.domain.canonical import content_hash
from flowops.services import guardrailcache

RULE = {"name": "has-ok", "expression": "content.ok", "message": "set ok"}


def test_memo_returns_what_evaluate_returns_and_evaluates_once(monkeypatch) -> None:
    rules = guardrailcache.compiled([RULE])
    doc = {"ok": False, "memo-test": 1}
    expected = guardrails.evaluate(rules, doc)
    calls = []
    real = guardrails.evaluate
    monkeypatch.setattr(guardrails, "evaluate", lambda r, d: calls.append(d) or real(r, d))

    first = guardrailcache.evaluate(rules, doc, content_hash(doc))
    second = guardrailcache.evaluate(rules, doc, content_hash(doc))
    assert first == second == expected and not expected[0].passed
    assert [r.to_status() for r in second] == [r.to_status() for r in expected]
    assert len(calls) == 1
    second.clear()  # a caller's list is its own
    assert guardrailcache.evaluate(rules, doc, content_hash(doc)) == expected


def test_memo_keys_on_rules_and_content(monkeypatch) -> None:
    strict, lax = guardrailcache.compiled([RULE]), guardrailcache.compiled([])
    doc, other = {"ok": True, "memo-test": 2}, {"ok": False, "memo-test": 2}
    assert guardrailcache.evaluate(strict, doc, content_hash(doc))[0].passed
    assert not guardrailcache.evaluate(strict, other, content_hash(other))[0].passed
    assert guardrailcache.evaluate(lax, other, content_hash(other)) == []


def test_memo_is_bounded() -> None:
    rules = guardrailcache.compiled([RULE])
    for i in range(50):
        doc = {"ok": True, "memo-test": f"bound-{i}"}
        guardrailcache.evaluate(rules, doc, content_hash(doc))
    assert len(guardrailcache._results) <= guardrailcache._RESULTS_SIZE
