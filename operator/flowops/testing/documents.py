"""Realistic identity flow documents built from real translation catalogues.

The catalogues are the ory/elements locale files kept under
``shared/testdata/ory-elements-locales`` (83 locales, flat ``key -> text``).
Every builder is deterministic: the same arguments give the same document.
The document shape is described in docs/flow-document.md.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flowops.domain.canonical import canonical_json

ENV_VAR = "FLOWOPS_TESTDATA"
DEFAULT_LOCALES: tuple[str, ...] = ("en", "de", "fr", "no")

# operator/flowops/testing/documents.py -> parents[3] is the repository root.
_REPO_ROOT = Path(__file__).resolve().parents[3]
_DEFAULT_DIR = _REPO_ROOT.parent / "shared" / "testdata" / "ory-elements-locales"

# Fields of the flow. Label and placeholder values are catalogue keys; the
# English text is given in the comment so the choice can be checked.
_FIELDS: dict[str, dict[str, Any]] = {
    "identifier": {  # "Email or phone number" / "Enter your {placeholder}"
        "type": "text",
        "label": "identities.messages.1070018",
        "placeholder": "input.placeholder",
        "required": True,
    },
    "currentPassword": {  # "Password"
        "type": "password",
        "label": "identities.messages.1070001",
        "placeholder": "input.placeholder",
        "required": True,
    },
    "newPassword": {  # "Password"
        "type": "password",
        "label": "identities.messages.1070001",
        "placeholder": "input.placeholder",
        "required": True,
    },
    "email": {  # "Email"
        "type": "email",
        "label": "identities.messages.1070007",
        "placeholder": "input.placeholder",
        "required": True,
    },
    "phone": {  # "Phone number"
        "type": "tel",
        "label": "identities.messages.1070017",
        "placeholder": "input.placeholder",
        "required": False,
    },
    "code": {  # "Verification code"
        "type": "code",
        "label": "identities.messages.1070011",
        "required": True,
    },
    "recoveryCode": {  # "Recovery code"
        "type": "code",
        "label": "identities.messages.1070010",
        "required": True,
    },
}

_FORMS: dict[str, dict[str, Any]] = {
    "signInForm": {  # "Sign in" / "Sign in with {parts}" / "Sign in"
        "title": "login.title",
        "subtitle": "login.subtitle",
        "fields": ["identifier", "currentPassword"],
        "submit": "identities.messages.1010001",
    },
    "registrationForm": {  # "Register an account" / ... / "Sign up"
        "title": "registration.title",
        "subtitle": "registration.subtitle",
        "fields": ["email", "phone", "newPassword"],
        "submit": "identities.messages.1040001",
    },
    "recoveryForm": {  # "Recover your account" / ... / "Continue"
        "title": "recovery.title",
        "subtitle": "recovery.subtitle",
        "fields": ["email", "recoveryCode"],
        "submit": "identities.messages.1070009",
    },
    "verificationForm": {  # "Verify your account" / ... / "Verify code"
        "title": "verification.title",
        "subtitle": "verification.subtitle",
        "fields": ["email", "code"],
        "submit": "identities.messages.1070006",
    },
    "settingsForm": {  # "Account Settings" / ... / "Save"
        "title": "settings.title",
        "subtitle": "settings.subtitle",
        "fields": ["email", "phone", "newPassword"],
        "submit": "identities.messages.1070003",
    },
}

_EMAIL_TEMPLATES: dict[str, dict[str, str]] = {
    # "Recover your account" / "A recovery code has been sent to {masked_address}. ..."
    "recoveryCode": {"subject": "recovery.title", "body": "identities.messages.1060004"},
    # "Verify your account" / "An email containing a verification code has been sent ..."
    "verificationCode": {"subject": "verification.title", "body": "identities.messages.1080003"},
    # "Login code" / "A verification code will be sent by email"
    "loginCode": {"subject": "identities.messages.1070013", "body": "login.code.subtitle"},
}


def testdata_dir() -> Path:
    """Directory of the locale catalogues (env FLOWOPS_TESTDATA wins)."""
    configured = os.environ.get(ENV_VAR)
    path = Path(configured) if configured else _DEFAULT_DIR
    if not path.is_dir() or not any(path.glob("*.json")):
        raise FileNotFoundError(
            f"flow test data not found at {path}: set {ENV_VAR} to the directory that holds "
            "the ory-elements locale catalogues (<locale>.json files)"
        )
    return path


# Not a test, though the name says so: keeps pytest from collecting it when imported.
testdata_dir.__test__ = False  # type: ignore[attr-defined]


@functools.cache
def _read_catalogue(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a flat key -> text catalogue")
    return data


def load_catalogue(locale: str) -> dict[str, str]:
    """The flat ``key -> text`` catalogue of one locale (a fresh copy)."""
    path = testdata_dir() / f"{locale}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no catalogue for locale {locale!r} in {path.parent}; available: {', '.join(available_locales())}"
        )
    return dict(_read_catalogue(path))


def available_locales() -> list[str]:
    """All locales with a catalogue, sorted."""
    return sorted(p.stem for p in testdata_dir().glob("*.json"))


def canonical_bytes(doc: Any) -> bytes:
    """Canonical JSON: what the operator measures sizes and hashes of."""
    return canonical_json(doc)


def identity_flow(
    locales: Sequence[str] = DEFAULT_LOCALES,
    *,
    default_locale: str | None = None,
) -> dict[str, Any]:
    """A sign-in/registration/recovery/verification/settings flow in the given locales.

    Each declared locale carries its whole catalogue, as a real product ships it,
    so the document grows by ~20-50 KB per locale.
    """
    declared = list(dict.fromkeys(locales))
    if not declared:
        raise ValueError("an identity flow needs at least one locale")
    if default_locale is None:
        default_locale = "en" if "en" in declared else declared[0]
    if default_locale not in declared:
        raise ValueError(f"default locale {default_locale!r} is not among {declared}")
    translations = {loc: load_catalogue(loc) for loc in declared}
    return {
        "locales": declared,
        "defaultLocale": default_locale,
        "fields": json.loads(json.dumps(_FIELDS)),
        "forms": json.loads(json.dumps(_FORMS)),
        "emailTemplates": json.loads(json.dumps(_EMAIL_TEMPLATES)),
        "translations": translations,
    }


def locale_order() -> list[str]:
    """The order in which flow_of_size adds locales: the defaults first, then the rest sorted."""
    available = available_locales()
    first = [loc for loc in DEFAULT_LOCALES if loc in available]
    return first + [loc for loc in available if loc not in first]


def flow_of_size(target_bytes: int) -> dict[str, Any]:
    """An identity flow whose canonical JSON is at least ``target_bytes`` long.

    Adds whole locales (in locale_order()) until the size is reached, so the
    result is the smallest such flow of that order.
    """
    order = locale_order()
    count = 1
    size = len(canonical_bytes(identity_flow(order[:1])))
    # Adding one locale adds `,"xx"` to /locales and `,"xx":{...}` to /translations.
    while size < target_bytes and count < len(order):
        loc = order[count]
        quoted = len(json.dumps(loc, ensure_ascii=False).encode())
        size += (1 + quoted) + (1 + quoted + 1 + len(canonical_bytes(load_catalogue(loc))))
        count += 1
    doc = identity_flow(order[:count])
    actual = len(canonical_bytes(doc))
    if actual < target_bytes:
        raise ValueError(f"cannot build a flow of {target_bytes} bytes: all {count} locales make {actual} bytes")
    return doc
