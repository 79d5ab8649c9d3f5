"""Built-in guardrails for identity flows (see docs/flow-document.md).

Each rule is a function ``(doc, params, *, rule=name) -> list[Violation]``; ``rule``
is the name the environment gave the rule, used in messages. Rules whose
prerequisites are absent do not apply and return no violations, so documents
that are not identity flows still version fine:

- form rules (formFieldsExist, requiredFields) need ``forms`` or ``fields``;
- translation rules (translationsComplete, placeholdersMatch) need
  ``translations`` or ``locales``;
- maxDocumentSize applies to every document;
- valuesDefined applies to documents that reference values (`$(values.NAME)`); it is
  always on, added by the environment policy with the names the environment defines.

Each rule also has a parameter validator returning human-readable errors that
name the offending parameter; parameters are assumed valid when a rule runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .. import values
from ..canonical import canonical_json
from .model import Violation, pointer

Params = Mapping[str, Any]
Doc = Mapping[str, Any]
Check = Callable[..., list[Violation]]
Validate = Callable[[Params], list[str]]

# Properties whose values are translation keys, per section of the document.
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "fields": ("label", "placeholder"),
    "forms": ("title", "subtitle", "submit"),
    "emailTemplates": ("subject", "body"),
}

# ICU argument names: {name} and {name, date, long} / {count, plural, ...}.
# Nested sub-messages like {# items} start with '#' and are not arguments.
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z0-9_][\w.\-]*)\s*[,}]")


def canonical_size(doc: Any) -> int:
    """Bytes of canonical JSON: the size Flow status.documentBytes reports."""
    return len(canonical_json(doc))


def placeholders(text: str) -> frozenset[str]:
    if "{" not in text:
        return frozenset()
    return frozenset(_PLACEHOLDER.findall(text))


# --- shared views of an identity flow -------------------------------------------------


def _has_forms(doc: Doc) -> bool:
    return "forms" in doc or "fields" in doc


def _has_translations(doc: Doc) -> bool:
    return "translations" in doc or "locales" in doc


def _declared_locales(doc: Doc) -> list[str]:
    """/locales when it is a list of strings, else the locales that have a table."""
    locales = doc.get("locales")
    if isinstance(locales, list):
        return [loc for loc in dict.fromkeys(locales) if isinstance(loc, str)]
    tables = doc.get("translations")
    return list(tables) if isinstance(tables, Mapping) else []


def _default_locale(doc: Doc, declared: list[str]) -> str | None:
    value = doc.get("defaultLocale")
    if isinstance(value, str) and value:
        return value
    if "en" in declared:
        return "en"
    return declared[0] if declared else None


def _tables(doc: Doc) -> Mapping[str, Any]:
    tables = doc.get("translations")
    return tables if isinstance(tables, Mapping) else {}


def _restrict(declared: list[str], params: Params) -> list[str]:
    only = params.get("locales")
    if only is None:
        return declared
    wanted = set(only)
    return [loc for loc in declared if loc in wanted]


def _form_field_names(form: Any) -> list[Any]:
    fields = form.get("fields") if isinstance(form, Mapping) else None
    return fields if isinstance(fields, list) else []


def _used_keys(doc: Doc) -> Iterator[tuple[str, Any]]:
    """(pointer, value) of every translation-key property of fields, forms and e-mail templates."""
    for section, props in KEY_PROPERTIES.items():
        items = doc.get(section)
        if not isinstance(items, Mapping):
            continue
        for item_name, item in items.items():
            if not isinstance(item, Mapping):
                continue
            for prop in props:
                if prop in item:
                    yield pointer(section, item_name, prop), item[prop]


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return json.dumps(text if len(text) <= limit else text[: limit - 1] + "…", ensure_ascii=False)


def _language(locale: str) -> str:
    return "English" if locale == "en" else f"default locale {locale}"


# --- rules ------------------------------------------------------------------------------


def form_fields_exist(doc: Doc, params: Params, *, rule: str = "formFieldsExist") -> list[Violation]:
    """Every field a form lists is defined in /fields."""
    if "forms" not in doc:
        return []  # a document with only /fields has no form to check
    forms = doc["forms"]
    if not isinstance(forms, Mapping):
        return [Violation("/forms", "/forms must be an object of forms by name: restore it")]
    fields = doc.get("fields")
    defined = fields if isinstance(fields, Mapping) else {}
    out: list[Violation] = []
    for form_name, form in forms.items():
        listed = form.get("fields") if isinstance(form, Mapping) else None
        if not isinstance(listed, list):
            out.append(
                Violation(
                    pointer("forms", form_name, "fields"),
                    f"form {form_name} has no list of fields at {pointer('forms', form_name, 'fields')}: "
                    "add one with the names of the fields it shows",
                )
            )
            continue
        for index, field in enumerate(listed):
            at = pointer("forms", form_name, "fields", index)
            if not isinstance(field, str):
                out.append(Violation(at, f"form {form_name} lists {json.dumps(field)} at {at}: list field names (strings)"))
            elif field not in defined:
                out.append(
                    Violation(
                        at,
                        f"form {form_name} lists field {field}, which is not defined: "
                        f"add it to {pointer('fields', field)} or remove it from {pointer('forms', form_name, 'fields')}",
                    )
                )
    return out


def required_fields(doc: Doc, params: Params, *, rule: str = "requiredFields") -> list[Violation]:
    """The named forms exist, list the named fields, and those fields are defined."""
    if not _has_forms(doc):
        return []
    forms = doc.get("forms")
    forms = forms if isinstance(forms, Mapping) else {}
    fields = doc.get("fields")
    defined = fields if isinstance(fields, Mapping) else {}
    out: list[Violation] = []
    for form_name, required in params["forms"].items():
        form = forms.get(form_name)
        if not isinstance(form, Mapping):
            out.append(
                Violation(
                    pointer("forms", form_name),
                    f"form {form_name} is missing (rule {rule}): add {pointer('forms', form_name)} "
                    f"with fields {json.dumps(list(required))}",
                )
            )
            continue
        listed = _form_field_names(form)
        for field in required:
            if field not in listed:
                out.append(
                    Violation(
                        pointer("forms", form_name, "fields"),
                        f"form {form_name} must keep field {field} (rule {rule}): "
                        f"add {json.dumps(field)} to {pointer('forms', form_name, 'fields')}",
                    )
                )
            elif field not in defined:
                out.append(
                    Violation(
                        pointer("fields", field),
                        f"form {form_name} must keep field {field} (rule {rule}): "
                        f"its definition {pointer('fields', field)} is missing; restore it",
                    )
                )
    return out


def translations_complete(doc: Doc, params: Params, *, rule: str = "translationsComplete") -> list[Violation]:
    """Every key used by a field, form or e-mail template has text in every declared locale."""
    if not _has_translations(doc):
        return []
    out: list[Violation] = []
    if "locales" in doc and not isinstance(doc["locales"], list):
        out.append(Violation("/locales", '/locales must be a list of locale codes such as ["en", "de"]: fix it'))
    declared = _declared_locales(doc)
    default = _default_locale(doc, declared)
    if default is not None and default not in declared:
        out.append(
            Violation(
                "/defaultLocale",
                f"default locale {default} is not declared in /locales: add it there or change /defaultLocale",
            )
        )
    tables = _tables(doc)
    reference = tables.get(default) if default is not None else None
    reference = reference if isinstance(reference, Mapping) else {}

    # Keys in first-use order; each remembers where it is used for the message.
    used: dict[str, str] = {}
    for at, key in _used_keys(doc):
        if not isinstance(key, str) or not key:
            out.append(Violation(at, f"{at} must be a translation key (a non-empty string): set one"))
        else:
            used.setdefault(key, at)

    for loc in _restrict(declared, params):
        table = tables.get(loc)
        if not isinstance(table, Mapping):
            hint = f" (copy {pointer('translations', default)} and translate it)" if default and default != loc else ""
            out.append(
                Violation(
                    pointer("translations", loc),
                    f"locale {loc} is declared in /locales but has no translations at "
                    f"{pointer('translations', loc)}: add them{hint} or remove {loc} from /locales",
                )
            )
            continue
        for key, used_at in used.items():
            text = table.get(key)
            if isinstance(text, str) and text.strip():
                continue
            at = pointer("translations", loc, key)
            problem = "missing" if text is None else "empty"
            ref = reference.get(key) if loc != default else None
            if isinstance(ref, str) and ref.strip():
                fix = f"add it ({_language(str(default))}: {_quote(ref)})"
            else:
                fix = f"add it (the key is used at {used_at})"
            out.append(Violation(at, f"translation {problem} for key {key} in locale {loc} at {at}: {fix}"))
    return out


def placeholders_match(doc: Doc, params: Params, *, rule: str = "placeholdersMatch") -> list[Violation]:
    """Each translation uses exactly the {placeholders} of the default locale's text."""
    if not _has_translations(doc):
        return []
    declared = _declared_locales(doc)
    default = _default_locale(doc, declared)
    tables = _tables(doc)
    reference = tables.get(default) if default is not None else None
    if not isinstance(reference, Mapping):
        return []  # nothing to compare with; translationsComplete reports the missing table
    expected = {k: placeholders(v) for k, v in reference.items() if isinstance(v, str)}
    out: list[Violation] = []
    for loc in _restrict(declared, params):
        table = tables.get(loc)
        if loc == default or not isinstance(table, Mapping):
            continue
        for key, text in table.items():
            want = expected.get(key)
            if want is None or not isinstance(text, str):
                continue
            got = placeholders(text)
            if got == want:
                continue
            at = pointer("translations", loc, key)
            diff = []
            if want - got:
                diff.append("missing " + ", ".join("{%s}" % p for p in sorted(want - got)))
            if got - want:
                diff.append("unexpected " + ", ".join("{%s}" % p for p in sorted(got - want)))
            out.append(
                Violation(
                    at,
                    f"placeholders differ for key {key} in locale {loc} at {at}: {' and '.join(diff)}: "
                    f"use exactly the placeholders of the {default} text {_quote(reference[key])}",
                )
            )
    return out


def max_document_size(doc: Doc, params: Params, *, rule: str = "maxDocumentSize") -> list[Violation]:
    """The canonical JSON of the document is at most ``bytes`` long."""
    limit = params["bytes"]
    size = canonical_size(doc)
    if size <= limit:
        return []
    return [
        Violation(
            "",
            f"document is {size} bytes of canonical JSON, over the limit of {limit} (rule {rule}): "
            "remove locales or content you do not need, or raise the rule's parameters.bytes",
        )
    ]


def values_defined(doc: Doc, params: Params, *, rule: str = "valuesDefined") -> list[Violation]:
    """Every $(values.NAME) names a value the environment defines, and is well formed."""
    found = values.scan(doc)
    environment = params["environment"]
    out = [
        Violation(paths[0], values.undefined_problem(name, paths, environment))
        for name, paths in values.undefined(found, set(params["defined"])).items()
    ]
    out += [Violation(path, why) for path, why in found.malformed]
    return out


# --- parameter validation ------------------------------------------------------------------


def _unknown(params: Params, known: tuple[str, ...], builtin: str) -> list[str]:
    takes = f"takes {', '.join(known)}" if known else "takes no parameters"
    return [f"unknown parameter {name!r}: {builtin} {takes}" for name in params if name not in known]


def _no_params(builtin: str) -> Validate:
    return lambda params: _unknown(params, (), builtin)


def _locales_param(builtin: str) -> Validate:
    def validate(params: Params) -> list[str]:
        errors = _unknown(params, ("locales",), builtin)
        if "locales" in params:
            value = params["locales"]
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                errors.append("parameter 'locales' must be a list of locale codes, e.g. [en, de]")
        return errors

    return validate


def _validate_required_fields(params: Params) -> list[str]:
    errors = _unknown(params, ("forms",), "requiredFields")
    example = "e.g. {signInForm: [identifier, currentPassword]}"
    if "forms" not in params:
        return errors + [f"parameter 'forms' is required: a map of form name to the fields it must keep, {example}"]
    forms = params["forms"]
    if not isinstance(forms, Mapping) or not forms:
        return errors + [f"parameter 'forms' must be a non-empty map of form name to field names, {example}"]
    for name, fields in forms.items():
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
            errors.append(f"parameter 'forms.{name}' must be a non-empty list of field names, {example}")
    return errors


def _validate_max_size(params: Params) -> list[str]:
    errors = _unknown(params, ("bytes",), "maxDocumentSize")
    value = params.get("bytes")
    if "bytes" not in params:
        errors.append("parameter 'bytes' is required: the largest allowed canonical JSON size, e.g. 1000000")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors.append(f"parameter 'bytes' must be a positive integer, got {json.dumps(value)}")
    return errors


def _validate_values_defined(params: Params) -> list[str]:
    defined, environment = params.get("defined"), params.get("environment")
    if not isinstance(defined, list) or not isinstance(environment, str):
        return [
            "valuesDefined is always on (it checks every $(values.NAME) against the Environment's "
            "spec.values): remove this rule from spec.policy.guardrails"
        ]
    return _unknown(params, ("defined", "environment"), "valuesDefined")


@dataclass(frozen=True)
class Builtin:
    name: str
    check: Check
    validate: Validate
    summary: str


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            "formFieldsExist", form_fields_exist, _no_params("formFieldsExist"), "every field a form lists is defined in /fields"
        ),
        Builtin("requiredFields", required_fields, _validate_required_fields, "the named forms exist and keep the named fields"),
        Builtin(
            "translationsComplete",
            translations_complete,
            _locales_param("translationsComplete"),
            "every key used by a field, form or e-mail template has text in every declared locale",
        ),
        Builtin(
            "placeholdersMatch",
            placeholders_match,
            _locales_param("placeholdersMatch"),
            "every translation uses the placeholders of the default locale",
        ),
        Builtin("maxDocumentSize", max_document_size, _validate_max_size, "the canonical JSON is at most parameters.bytes long"),
        Builtin(
            "valuesDefined",
            values_defined,
            _validate_values_defined,
            "every $(values.NAME) names a value of the environment (always on)",
        ),
    )
}
