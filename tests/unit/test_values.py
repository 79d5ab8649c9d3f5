"""domain.values: the reference syntax, rendering, the values-defined guardrail,
environment-owned parts and which ConfigMaps a value change touches."""

from __future__ import annotations

import pytest

from flowops.domain import fanout, materialise, policy, values
from flowops.domain.guardrails import compile_rules, evaluate, summarize
from flowops.domain.guardrails.builtins import placeholders

DOC = {
    "forms": {"signInForm": {"action": "$(values.baseUrl)/self-service/login", "title": "login.title"}},
    "emailTemplates": {"recoveryCode": {"from": "$(values.senderAddress)", "subject": "s"}},
    "translations": {"en": {"login.title": "Sign in with {provider} at $(values.brand)"}},
}
VALUES = {"baseUrl": "https://auth.example.com", "senderAddress": "no-reply@example.com", "brand": "Example", "unused": "x"}


def test_references_are_found_with_their_paths():
    found = values.scan(DOC)
    assert found.references == {
        "baseUrl": ("/forms/signInForm/action",),
        "brand": ("/translations/en/login.title",),
        "senderAddress": ("/emailTemplates/recoveryCode/from",),
    }
    assert found.malformed == ()


def test_a_reference_is_never_an_icu_placeholder_and_vice_versa():
    text = DOC["translations"]["en"]["login.title"]
    assert placeholders(text) == {"provider"}
    assert values.scan({"t": "{count, plural, one {# item} other {# items}} {provider}"}).references == {}


def test_render_replaces_every_reference_and_reports_the_values_used():
    rendered, used = values.render(DOC, VALUES, "production")
    assert rendered["forms"]["signInForm"]["action"] == "https://auth.example.com/self-service/login"
    assert rendered["emailTemplates"]["recoveryCode"]["from"] == "no-reply@example.com"
    assert rendered["translations"]["en"]["login.title"] == "Sign in with {provider} at Example"
    assert used == {"baseUrl": VALUES["baseUrl"], "brand": "Example", "senderAddress": VALUES["senderAddress"]}
    assert DOC["forms"]["signInForm"]["action"].startswith("$(values.")  # the input is not changed


def test_dollar_dollar_writes_a_literal_reference():
    rendered, used = values.render({"doc": "write $$(values.baseUrl) to use a value"}, {}, "dev")
    assert rendered == {"doc": "write $(values.baseUrl) to use a value"} and used == {}
    assert values.scan({"doc": "$$(values.x)"}).references == {}


@pytest.mark.parametrize(
    "text, rendered, names",
    [
        ("$(values.a)", "A", ["a"]),
        ("$$(values.a)", "$(values.a)", []),
        ("$$$(values.a)", "$A", ["a"]),  # a $ right before a value: $$ is one $, as in Kubernetes
        ("$$$$(values.a)", "$$(values.a)", []),
        ("$$$$$(values.a)/x", "$$A/x", ["a"]),
        ("price $$ and $ $(values.a)", "price $$ and $ A", ["a"]),  # $ elsewhere is left as it is
        ("$$(values.a)$(values.a)$$$(values.a)", "$(values.a)A$A", ["a"]),
    ],
)
def test_each_dollar_dollar_before_a_reference_writes_one_dollar(text, rendered, names):
    assert values.scan({"s": text}).names == names
    assert values.render({"s": text}, {"a": "A"}, "dev")[0] == {"s": rendered}


def test_an_odd_run_of_dollars_is_a_reference_the_environment_must_define():
    with pytest.raises(values.Unrenderable, match="does not define 1 value"):
        values.render({"s": "$$$(values.a)"}, {}, "dev")
    assert values.scan({"s": "$$$(values. a)"}).malformed


def test_long_lists_of_missing_values_and_malformed_references_are_cut_short():
    doc = {f"k{i}": f"$(values.n{i:05})" for i in range(10_000)}
    message = values.missing_message(doc, {}, "dev")
    assert message is not None and len(message) < 1_000
    assert "does not define 10000 value(s)" in message and "n00009 (used at /k9)" in message
    assert "n00010" not in message and "and 9990 more" in message
    doc = {f"k{i}": f"$(values.{i})" for i in range(10_000)}
    message = values.missing_message(doc, {}, "dev")
    assert message is not None and len(message) < 2_000 and "and 9995 more" in message


def test_a_document_without_references_renders_to_itself():
    doc = {"a": "$(notvalues.x)", "b": ["$(", 1, None]}
    assert values.render(doc, {}, "dev") == (doc, {})
    assert not values.has_references(b'{"a":"$(notvalues.x)"}')


@pytest.mark.parametrize(
    "text, words",
    [
        ("$(values.base url)", "malformed reference '$(values.base url)'"),
        ("$(values.)", "malformed reference"),
        ("$(values.baseUrl", "malformed reference"),
        ("$(values.1st)", "starting with a letter"),
    ],
)
def test_malformed_references_are_named_with_the_fix(text, words):
    found = values.scan({"forms": {"f": {"action": text}}})
    assert found.references == {} and len(found.malformed) == 1
    path, why = found.malformed[0]
    assert path == "/forms/f/action" and words in why and "$(values.NAME)" in why
    with pytest.raises(values.Unrenderable, match="malformed"):
        values.render({"forms": {"f": {"action": text}}}, VALUES, "dev")


def test_a_reference_in_a_member_name_is_refused():
    found = values.scan({"$(values.key)": "x"})
    assert found.malformed and "member names" in found.malformed[0][1]


def test_render_names_every_missing_value_and_the_environment():
    with pytest.raises(values.Unrenderable) as caught:
        values.render(DOC, {"brand": "Example"}, "production")
    message = str(caught.value)
    assert "environment production does not define 2 value(s)" in message
    assert "baseUrl (used at /forms/signInForm/action)" in message
    assert "senderAddress (used at /emailTemplates/recoveryCode/from)" in message


def test_guardrail_is_always_on_and_names_reference_path_and_environment():
    env = {"metadata": {"name": "staging"}, "spec": {"namespace": "ns", "tier": "Staging", "values": {"brand": "B"}}}
    specs = policy.guardrails_of(env)
    assert specs[-1]["name"] == "values-defined"
    results = evaluate(compile_rules(specs), DOC)
    ok, summary = summarize(results)
    assert not ok
    violations = {v.path: v.message for v in results[-1].violations}
    assert violations["/forms/signInForm/action"].startswith(
        "$(values.baseUrl) at /forms/signInForm/action is not defined in environment staging"
    )
    assert "add baseUrl to the Environment's spec.values" in violations["/forms/signInForm/action"]
    assert "/emailTemplates/recoveryCode/from" in violations
    assert summarize(evaluate(compile_rules(policy.guardrails_of(None)), {"title": "no references"}))[0]


def test_guardrail_digest_changes_with_the_defined_names_not_the_values():
    def digest(vals):
        return compile_rules(policy.guardrails_of({"metadata": {"name": "e"}, "spec": {"values": vals}})).digest

    assert digest({"a": "1"}) == digest({"a": "2"})
    assert digest({"a": "1"}) != digest({"a": "1", "b": "2"})


def test_guardrail_cannot_be_listed_by_hand():
    compiled = compile_rules([{"name": "mine", "builtin": "valuesDefined"}])
    assert not compiled.valid and "always on" in compiled.errors[0].message


# -- environment-owned parts ---------------------------------------------------------------

BASE = {"emailTemplates": {"a": {"from": "prod@x", "s": 1}, "b": {"from": "prod-b@x"}}, "theme": {"color": "red"}, "x": 1}
SOURCE = {"emailTemplates": {"a": {"from": "dev@x", "s": 2}, "c": {"from": "dev-c@x"}}, "theme": {"color": "blue"}, "x": 2}


def test_preserved_parts_keep_the_targets_content():
    owned = values.preserve(BASE, SOURCE, ["/emailTemplates/*/from", "/theme"])
    assert owned.document == {
        "emailTemplates": {"a": {"from": "prod@x", "s": 2}, "c": {"from": "dev-c@x"}},  # new template: taken from the source
        "theme": {"color": "red"},
        "x": 2,
    }
    assert [(k.path, k.value, k.offered) for k in owned.kept] == [
        ("/theme", {"color": "red"}, {"color": "blue"}),
        ("/emailTemplates/a/from", "prod@x", "dev@x"),
    ]  # b went with its parent: the promotion removes that template


def test_nothing_is_preserved_into_a_new_flow_or_without_paths():
    assert values.preserve(None, SOURCE, ["/theme"]).document is SOURCE
    assert values.preserve(BASE, SOURCE, []).document is SOURCE


def test_an_include_of_an_owned_part_is_refused():
    problem = values.preserved_include_problem(["/emailTemplates/a/from"], ["/emailTemplates/*/from"], "production")
    assert problem and "owned by environment production" in problem and "spec.preservedPaths /emailTemplates/*/from" in problem
    assert values.preserved_include_problem(["/emailTemplates/a/subject"], ["/emailTemplates/*/from"], "p") is None


def test_sync_ignores_owned_parts():
    own = values.preserve(BASE, SOURCE, ["/emailTemplates/*/from", "/theme"]).document
    assert values.sync_view(own, SOURCE, ["/emailTemplates/*/from", "/theme"]) == (0, 2)
    assert values.sync_view(BASE, SOURCE, ["/theme"])[0] > 0


# -- which ConfigMaps a value change touches -------------------------------------------------


def test_only_clients_rendered_with_a_changed_value_are_touched():
    held = values.digests({"baseUrl": "https://a"})
    assert not fanout.client_touched_by_values({"values": held}, {"baseUrl": "https://a", "other": "new"})
    assert fanout.client_touched_by_values({"values": held}, {"baseUrl": "https://b"})
    assert fanout.client_touched_by_values({"values": held}, {})  # removed: it reports the problem
    assert not fanout.client_touched_by_values({"values": {}}, {"baseUrl": "https://b"})
    assert fanout.client_touched_by_values({"values": {}, "reason": "ValueNotDefined"}, {})


def test_fingerprint_records_values_and_reads_old_annotations():
    old = materialise.Fingerprint("f", "1", 1, "sha256:a", "RestartInProgress")
    assert "values" not in old.to_annotation()
    assert materialise.Fingerprint.from_annotation(old.to_annotation()) == old
    new = materialise.Fingerprint("f", "1", 1, "sha256:a", "RestartInProgress", (("baseUrl", "sha256:1"),))
    assert materialise.Fingerprint.from_annotation(new.to_annotation()) == new
    assert new.rendered_with == {"baseUrl": "sha256:1"}


def test_the_crd_refuses_what_the_operator_cannot_use():
    from pathlib import Path

    import yaml

    crd = yaml.safe_load((Path(__file__).resolve().parents[2] / "crds" / "environment.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert spec["values"]["maxProperties"] == values.MAX_VALUES
    assert spec["values"]["additionalProperties"] == {"type": "string", "maxLength": values.MAX_VALUE_LENGTH}
    rule = spec["values"]["x-kubernetes-validations"][0]["rule"]
    assert "'^[A-Za-z][A-Za-z0-9_-]*$'" in rule and "size(k) <= 63" in rule  # = NAME_PATTERN
    assert values.NAME_PATTERN == r"[A-Za-z][A-Za-z0-9_-]{0,62}"


def _values_rules():
    from pathlib import Path

    import yaml

    crd = yaml.safe_load((Path(__file__).resolve().parents[2] / "crds" / "environment.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    return spec["values"]["x-kubernetes-validations"]


def _cel(expression, self):
    import celpy
    from celpy.adapter import json_to_cel

    env = celpy.Environment()  # matches() is RE2, as in the API server
    return env.program(env.compile(expression)).evaluate({"self": json_to_cel(self)})


@pytest.mark.parametrize(
    "value, words",
    [
        ("https://auth.example.com\n", "ends with a line break (a YAML | block adds one): write the value with >-"),
        ("https://auth.example.com\r\n", "ends with a line break"),
        (" https://auth.example.com", "starts or ends with a space"),
        ("no-reply@example.com ", "starts or ends with a space"),
        ("\u00a0Example", "starts or ends with a space"),
        ("a\nb", "control, zero-width or bidirectional"),
        ("tab\there", "control"),
        ("nul\x00", "control"),
        ("del\x7f", "control"),
        ("c1\x85", "control"),
        ("zero\u200bwidth", "zero-width"),
        ("left\u200emark", "U+200B to U+200F"),
        ("evil\u202eliam.com", "U+202A to U+202E"),
        ("isolate\u2066x\u2069", "U+2066 to U+2069"),
        ("bom\ufeff", "zero-width"),
        ("line\u2028sep", "control"),
    ],
)
def test_the_crd_refuses_values_a_client_could_not_serve_as_written(value, words):
    rule = _values_rules()[1]
    env_values = {"baseUrl": "https://auth.example.com", "loginUrl": value}
    assert _cel(rule["rule"], env_values) is not True and not _cel(rule["rule"], env_values)
    message = str(_cel(rule["messageExpression"], env_values))
    assert message.startswith("spec.values.loginUrl ") and words in message
    assert "?." not in rule["rule"] + rule["messageExpression"]  # no optional syntax: the API server's CEL has it off


@pytest.mark.parametrize(
    "value",
    [
        "",
        "https://auth.example.com",
        "a b",
        "Grüße, Ünïcödé: 日本語 😀",
        '$(values.x) "quoted" it\'s #1 <a@example.com>',
        "x" * 2048,
    ],
)
def test_the_crd_accepts_ordinary_values(value):
    assert all(_cel(rule["rule"], {"v": value}) for rule in _values_rules())


@pytest.mark.parametrize("value", ["Support {team}", "Example {", "}", "{count, plural, one {#} other {#}}"])
def test_the_crd_refuses_braces_in_values_as_they_would_be_icu_syntax_in_a_translation(value):
    rule = _values_rules()[2]
    env_values = {"baseUrl": "https://auth.example.com", "brand": value}
    assert not _cel(rule["rule"], env_values)
    message = str(_cel(rule["messageExpression"], env_values))
    assert message.startswith("spec.values.brand holds { or }:") and "ICU MessageFormat" in message
    assert "write the value without braces" in message
