"""Compiling rule specs, invalid rules, digests, status shapes and summaries."""

from __future__ import annotations

import re

import pytest

from flowops.domain.guardrails import (
    RuleResult,
    Violation,
    compile_rules,
    evaluate,
    summarize,
)

SIGN_IN = {
    "name": "sign-in-keeps-password",
    "builtin": "requiredFields",
    "parameters": {"forms": {"signInForm": ["identifier", "currentPassword"]}},
}


def only_error(spec: dict) -> str:
    compiled = compile_rules([spec])
    assert compiled.rules == ()
    (error,) = compiled.errors
    return error.message


def test_unknown_builtin_lists_the_known_ones_and_fails_documents() -> None:
    compiled = compile_rules([{"name": "typo", "builtin": "formFieldExists"}])

    (error,) = compiled.errors
    assert error.rule == "typo"
    assert error.message.startswith("unknown built-in 'formFieldExists'; known: ")
    assert "formFieldsExist" in error.message
    (result,) = evaluate(compiled, {"steps": []})
    assert not result.passed and result.rule == "typo"
    assert not compiled.valid
    assert compiled.status() == [{"name": "typo", "valid": False, "message": error.message}]


@pytest.mark.parametrize(
    ("spec", "parameter"),
    [
        ({"name": "r", "builtin": "requiredFields"}, "'forms' is required"),
        (
            {"name": "r", "builtin": "requiredFields", "parameters": {"forms": {"signInForm": "currentPassword"}}},
            "'forms.signInForm'",
        ),
        ({"name": "r", "builtin": "requiredFields", "parameters": {"form": {"signInForm": ["x"]}}}, "unknown parameter 'form'"),
        ({"name": "r", "builtin": "maxDocumentSize"}, "'bytes' is required"),
        ({"name": "r", "builtin": "maxDocumentSize", "parameters": {"bytes": "1Mi"}}, "'bytes' must be a positive integer"),
        ({"name": "r", "builtin": "maxDocumentSize", "parameters": {"bytes": 0}}, "'bytes' must be a positive integer"),
        ({"name": "r", "builtin": "translationsComplete", "parameters": {"locales": "en"}}, "'locales'"),
        ({"name": "r", "builtin": "formFieldsExist", "parameters": {"strict": True}}, "unknown parameter 'strict'"),
    ],
)
def test_bad_parameters_name_the_parameter(spec: dict, parameter: str) -> None:
    message = only_error(spec)

    assert message.startswith(f"bad parameters for built-in {spec['builtin']}: ")
    assert parameter in message


def test_malformed_specs_are_reported() -> None:
    assert "exactly one of builtin" in only_error({"name": "r"})
    assert "exactly one of builtin" in only_error({"name": "r", "builtin": "formFieldsExist", "expression": "true"})
    assert "parameters apply only to built-in" in only_error({"name": "r", "expression": "true", "parameters": {}})
    assert "needs a name" in only_error({"builtin": "formFieldsExist"})


def test_duplicate_rule_names_are_reported() -> None:
    compiled = compile_rules([SIGN_IN, SIGN_IN])

    assert len(compiled.rules) == 1
    assert "duplicate rule name" in compiled.errors[0].message


def test_valid_and_invalid_rules_are_all_evaluated() -> None:
    compiled = compile_rules([SIGN_IN, {"name": "bad", "expression": "1 +"}])

    results = evaluate(compiled, {"steps": []})

    assert [(r.rule, r.passed) for r in results] == [("sign-in-keeps-password", True), ("bad", False)]
    assert compiled.status()[0] == {"name": "sign-in-keeps-password", "valid": True}


def test_digest_is_stable_and_changes_with_the_rules() -> None:
    a = {"name": "a", "builtin": "formFieldsExist"}
    first = compile_rules([a, SIGN_IN]).digest

    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first)
    assert compile_rules([SIGN_IN, a]).digest == first
    changed = {**SIGN_IN, "parameters": {"forms": {"signInForm": ["identifier"]}}}
    assert compile_rules([a, changed]).digest != first
    assert compile_rules([a]).digest != first
    assert compile_rules([]).digest == compile_rules(None).digest


def test_to_status_matches_the_flowversion_crd_and_truncates() -> None:
    result = RuleResult("r", False, tuple(Violation(f"/fields/f{i}", "fix it") for i in range(25)))

    status = result.to_status()

    assert set(status) == {"rule", "passed", "violations", "violationCount"}
    assert status["violationCount"] == 25
    assert len(status["violations"]) == 20
    assert status["violations"][0] == {"path": "/fields/f0", "message": "fix it"}
    assert len(result.to_status(max_violations=5)["violations"]) == 5


def test_summary_names_each_broken_rule_first_paths_and_the_rest() -> None:
    results = [
        RuleResult("ok", True),
        RuleResult("a", False, tuple(Violation(f"/x/{i}", f"problem {i}: fix {i}") for i in range(5))),
        RuleResult("b", False, (Violation("/y", "form y is missing: add /y"),)),
    ]

    ok, message = summarize(results, limit=2)

    assert not ok
    assert message.startswith("2 of 3 guardrails failed: ")
    assert "a (5 violations): problem 0: fix 0 [/x/0]; problem 1: fix 1 [/x/1]; and 3 more" in message
    assert "b (1 violation): form y is missing: add /y" in message
    assert "\n" not in message


def test_summary_when_everything_passes() -> None:
    assert summarize([RuleResult("a", True)]) == (True, "All 1 guardrails passed.")
    assert summarize([]) == (True, "No guardrails apply.")
