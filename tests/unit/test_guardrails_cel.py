"""Custom CEL guardrails: the document is `content`; only boolean true passes."""

from __future__ import annotations

import copy
import functools
from typing import Any

from flowops.domain.guardrails import RuleResult, compile_rules, evaluate
from flowops.testing.documents import identity_flow

PASSWORD = "content.forms.signInForm.fields.exists(f, f == 'currentPassword')"


@functools.cache
def _flow(locales: tuple[str, ...]) -> dict[str, Any]:
    return identity_flow(locales)


def flow(locales: tuple[str, ...] = ("en", "de", "fr", "no")) -> dict[str, Any]:
    return copy.deepcopy(_flow(locales))


def cel(doc: dict[str, Any], expression: str, message: str = "") -> RuleResult:
    spec: dict[str, Any] = {"name": "custom", "expression": expression}
    if message:
        spec["message"] = message
    compiled = compile_rules([spec])
    assert compiled.errors == ()
    (result,) = evaluate(compiled, doc)
    return result


def cel_error(expression: str) -> str:
    compiled = compile_rules([{"name": "custom", "expression": expression}])
    assert compiled.rules == ()
    (error,) = compiled.errors
    assert error.rule == "custom"
    return error.message


def test_password_rule_passes_on_the_standard_flow() -> None:
    assert cel(flow(), PASSWORD).passed


def test_password_rule_fails_with_the_users_message_when_the_field_is_deleted() -> None:
    doc = flow()
    doc["forms"]["signInForm"]["fields"].remove("currentPassword")

    result = cel(doc, PASSWORD, "the sign-in form must keep currentPassword: add it back")

    assert not result.passed
    assert [v.message for v in result.violations] == ["the sign-in form must keep currentPassword: add it back"]


def test_false_without_a_message_quotes_the_expression() -> None:
    result = cel(flow(("en",)), "size(content.locales) >= 2")

    assert not result.passed
    assert "size(content.locales) >= 2" in result.violations[0].message


def test_locale_count_rule_passes_with_enough_locales() -> None:
    assert cel(flow(), "size(content.locales) >= 2").passed


def test_comprehension_over_real_translations() -> None:
    expr = "content.locales.all(l, l in content.translations && content.translations[l]['login.title'] != '')"
    assert cel(flow(), expr).passed
    doc = flow()
    doc["translations"]["de"]["login.title"] = ""
    assert not cel(doc, expr).passed


def test_non_boolean_result_fails() -> None:
    result = cel(flow(), "content.defaultLocale")

    assert not result.passed
    assert "not a boolean" in result.violations[0].message


def test_evaluation_error_fails_with_a_readable_message() -> None:
    result = cel({"steps": []}, PASSWORD)

    assert not result.passed
    message = result.violations[0].message
    assert "could not be evaluated" in message and "forms" in message
    assert len(message) < 400


def test_has_guards_optional_parts() -> None:
    assert cel({"steps": []}, "!has(content.forms) || " + PASSWORD).passed


def test_syntax_error_is_a_rule_error_with_position() -> None:
    message = cel_error("content.forms.(signInForm")

    assert message.startswith("CEL syntax error at line 1, column 15")
    assert '"("' in message


def test_syntax_error_on_a_later_line() -> None:
    message = cel_error("size(content.locales) >= 2 &&\n  content.forms ==")

    assert "line 2" in message


def test_unknown_function_is_a_rule_error() -> None:
    message = cel_error("content.locales.lowerAscii() == 'en'")

    assert "unknown function .lowerAscii()" in message


def test_unknown_variable_points_to_content() -> None:
    message = cel_error("doc.forms.signInForm.fields.size() > 0")

    assert "unknown variable 'doc'" in message and "content" in message


def test_invalid_cel_rule_fails_every_document_instead_of_passing() -> None:
    compiled = compile_rules([{"name": "broken", "expression": "content.forms.("}])

    (result,) = evaluate(compiled, flow())

    assert not result.passed
    assert result.violations[0].message.startswith("rule broken is invalid: CEL syntax error")
