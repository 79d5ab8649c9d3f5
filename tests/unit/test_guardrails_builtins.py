"""Built-in guardrails on realistic identity flows made from the real locale catalogues."""

from __future__ import annotations

import copy
import functools
import time
from typing import Any

from flowops.domain.guardrails import RuleResult, compile_rules, evaluate, summarize
from flowops.testing.documents import available_locales, flow_of_size, identity_flow

SIGN_IN = {
    "name": "sign-in-keeps-password",
    "builtin": "requiredFields",
    "parameters": {"forms": {"signInForm": ["identifier", "currentPassword"]}},
}
STANDARD_RULES = [
    {"name": "form-fields-exist", "builtin": "formFieldsExist"},
    SIGN_IN,
    {"name": "translations-complete", "builtin": "translationsComplete"},
    {"name": "placeholders-match", "builtin": "placeholdersMatch"},
    {"name": "max-document-size", "builtin": "maxDocumentSize", "parameters": {"bytes": 1048576}},
]


@functools.cache
def _flow(locales: tuple[str, ...]) -> dict[str, Any]:
    return identity_flow(locales)


def flow(locales: tuple[str, ...] = ("en", "de", "fr", "no")) -> dict[str, Any]:
    return copy.deepcopy(_flow(locales))


def run(doc: dict[str, Any], *specs: dict[str, Any]) -> dict[str, RuleResult]:
    compiled = compile_rules(list(specs or STANDARD_RULES))
    assert compiled.errors == ()
    return {r.rule: r for r in evaluate(compiled, doc)}


def failed(results: dict[str, RuleResult]) -> set[str]:
    return {name for name, r in results.items() if not r.passed}


def test_standard_flow_passes_every_builtin() -> None:
    results = run(flow())
    assert failed(results) == set()
    assert summarize(list(results.values())) == (True, "All 5 guardrails passed.")


def test_deleting_current_password_from_sign_in_form_is_caught_with_rule_path_and_fix() -> None:
    doc = flow()
    doc["forms"]["signInForm"]["fields"].remove("currentPassword")

    results = run(doc)

    assert failed(results) == {"sign-in-keeps-password"}
    (violation,) = results["sign-in-keeps-password"].violations
    assert violation.path == "/forms/signInForm/fields"
    assert violation.message == (
        "form signInForm must keep field currentPassword (rule sign-in-keeps-password): "
        'add "currentPassword" to /forms/signInForm/fields'
    )
    ok, message = summarize(list(results.values()))
    assert not ok
    assert "sign-in-keeps-password" in message and "/forms/signInForm/fields" in message


def test_deleting_the_password_field_definition_is_caught_too() -> None:
    doc = flow()
    del doc["fields"]["currentPassword"]

    results = run(doc)

    assert failed(results) == {"sign-in-keeps-password", "form-fields-exist"}
    assert [v.path for v in results["sign-in-keeps-password"].violations] == ["/fields/currentPassword"]
    (dangling,) = results["form-fields-exist"].violations
    assert dangling.path == "/forms/signInForm/fields/1"
    assert "add it to /fields/currentPassword" in dangling.message


def test_missing_sign_in_form_is_a_violation() -> None:
    doc = flow()
    del doc["forms"]["signInForm"]

    (violation,) = run(doc, SIGN_IN)["sign-in-keeps-password"].violations

    assert violation.path == "/forms/signInForm"
    assert "form signInForm is missing" in violation.message
    assert '["identifier", "currentPassword"]' in violation.message


def test_form_listing_an_undefined_field() -> None:
    doc = flow()
    doc["forms"]["registrationForm"]["fields"].append("firstName")

    results = run(doc, {"name": "ffe", "builtin": "formFieldsExist"})

    (violation,) = results["ffe"].violations
    assert violation.path == "/forms/registrationForm/fields/3"
    assert "firstName" in violation.message


def test_declared_norwegian_locale_without_translations() -> None:
    doc = flow()
    del doc["translations"]["no"]

    results = run(doc)

    assert failed(results) == {"translations-complete"}
    (violation,) = results["translations-complete"].violations
    assert violation.path == "/translations/no"
    assert "locale no is declared in /locales but has no translations" in violation.message


def test_missing_norwegian_key_names_key_locale_path_and_english_text() -> None:
    doc = flow()
    del doc["translations"]["no"]["identities.messages.1010001"]  # the sign-in button

    (violation,) = run(doc)["translations-complete"].violations

    assert violation.path == "/translations/no/identities.messages.1010001"
    assert violation.message == (
        "translation missing for key identities.messages.1010001 in locale no at "
        '/translations/no/identities.messages.1010001: add it (English: "Sign in")'
    )


def test_empty_translation_is_incomplete() -> None:
    doc = flow()
    doc["translations"]["fr"]["login.title"] = "  "

    (violation,) = run(doc)["translations-complete"].violations

    assert violation.path == "/translations/fr/login.title"
    assert violation.message.startswith("translation empty for key login.title in locale fr")


def test_keys_no_form_uses_may_be_missing() -> None:
    doc = flow()
    del doc["translations"]["de"]["consent.title"]

    assert failed(run(doc)) == set()


def test_translations_complete_can_be_restricted_to_some_locales() -> None:
    doc = flow()
    del doc["translations"]["no"]
    rule = {"name": "main-locales", "builtin": "translationsComplete", "parameters": {"locales": ["en", "de"]}}

    assert run(doc, rule)["main-locales"].passed


def test_dropped_placeholder_in_german_is_caught() -> None:
    doc = flow()
    key = "identities.messages.1010002"  # "Sign in with {provider}"
    assert "{provider}" in doc["translations"]["de"][key]
    doc["translations"]["de"][key] = doc["translations"]["de"][key].replace("{provider}", "Google")

    results = run(doc)

    assert failed(results) == {"placeholders-match"}
    (violation,) = results["placeholders-match"].violations
    assert violation.path == f"/translations/de/{key}"
    assert "missing {provider}" in violation.message
    assert '"Sign in with {provider}"' in violation.message


def test_renamed_placeholder_reports_missing_and_unexpected() -> None:
    doc = flow()
    key = "identities.messages.4000003"  # "length must be >= {min_length}, but got {actual_length}"
    doc["translations"]["fr"][key] = doc["translations"]["fr"][key].replace("{min_length}", "{minLength}")

    (violation,) = run(doc)["placeholders-match"].violations

    assert "missing {min_length}" in violation.message
    assert "unexpected {minLength}" in violation.message


def test_icu_argument_format_may_differ_when_the_name_is_kept() -> None:
    doc = flow()
    key = "identities.messages.1050014"  # "Secret was used at {used_at, date, long}"
    doc["translations"]["de"][key] = "Verwendet am {used_at}"

    assert run(doc)["placeholders-match"].passed


def test_document_over_the_size_limit() -> None:
    doc = flow()
    rule = {"name": "small", "builtin": "maxDocumentSize", "parameters": {"bytes": 50_000}}

    (violation,) = run(doc, rule)["small"].violations

    assert violation.path == ""
    assert "over the limit of 50000" in violation.message
    assert run(doc, {**rule, "parameters": {"bytes": 200_000}})["small"].passed


def test_non_identity_document_passes_because_no_rule_applies() -> None:
    doc = {"steps": [{"id": "welcome", "next": "done"}], "theme": {"color": "#123456"}}

    results = run(doc)

    assert failed(results) == set()
    assert all(r.violations == () for r in results.values())


def test_all_83_real_locales_are_complete_and_consistent() -> None:
    doc = identity_flow(available_locales())

    results = run(doc, *STANDARD_RULES[:4])

    assert failed(results) == set()


def test_one_mebibyte_flow_is_checked_quickly_and_all_problems_are_counted() -> None:
    doc = flow_of_size(1 << 20)
    for loc in doc["locales"][1:]:
        doc["translations"][loc]["login.title"] = ""
    compiled = compile_rules(STANDARD_RULES)

    started = time.perf_counter()
    results = {r.rule: r for r in evaluate(compiled, doc)}
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0
    broken = results["translations-complete"]
    assert len(broken.violations) == len(doc["locales"]) - 1
    status = broken.to_status()
    assert len(status["violations"]) == 20 and status["violationCount"] == len(doc["locales"]) - 1
    ok, message = summarize(list(results.values()))
    assert not ok and f"and {len(doc['locales']) - 4} more" in message
