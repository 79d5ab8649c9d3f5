"""The flow-document builders the guardrail tests and samples rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowops.testing import documents
from flowops.testing.documents import (
    available_locales,
    canonical_bytes,
    flow_of_size,
    identity_flow,
    load_catalogue,
)

MIB = 1 << 20


def test_real_test_data_is_found() -> None:
    assert (documents.testdata_dir() / "SOURCE.md").is_file()
    locales = available_locales()
    assert len(locales) == 83
    assert {"en", "de", "fr", "no"} <= set(locales)
    assert load_catalogue("en")["identities.messages.1010001"] == "Sign in"


def test_missing_test_data_says_how_to_point_at_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FLOWOPS_TESTDATA", str(tmp_path / "nowhere"))

    with pytest.raises(FileNotFoundError, match="FLOWOPS_TESTDATA"):
        documents.testdata_dir()


def test_unknown_locale_is_refused() -> None:
    with pytest.raises(FileNotFoundError, match="'xx'"):
        identity_flow(("en", "xx"))


def test_identity_flow_shape_and_real_keys() -> None:
    doc = identity_flow()

    assert doc["locales"] == ["en", "de", "fr", "no"]
    assert doc["defaultLocale"] == "en"
    assert set(doc["translations"]) == set(doc["locales"])
    assert doc["forms"]["signInForm"]["fields"] == ["identifier", "currentPassword"]
    assert set(doc["forms"]) == {"signInForm", "registrationForm", "recoveryForm", "verificationForm", "settingsForm"}
    en = doc["translations"]["en"]
    assert en[doc["forms"]["signInForm"]["submit"]] == "Sign in"
    assert en[doc["fields"]["currentPassword"]["label"]] == "Password"
    assert en[doc["fields"]["email"]["label"]] == "Email"
    for loc in doc["locales"]:
        assert doc["translations"][loc] == load_catalogue(loc)  # whole catalogue, unchanged


def test_identity_flow_is_deterministic_and_grows_per_locale() -> None:
    one = len(canonical_bytes(identity_flow(("en",))))
    four = canonical_bytes(identity_flow())

    assert four == canonical_bytes(identity_flow())
    per_locale = (len(four) - one) / 3
    assert 20_000 <= per_locale <= 50_000


def test_flow_of_one_mebibyte() -> None:
    doc = flow_of_size(MIB)

    assert len(canonical_bytes(doc)) >= MIB
    assert len(doc["locales"]) <= 45
    # The smallest such flow: one locale fewer is under the target.
    assert len(canonical_bytes(identity_flow(doc["locales"][:-1]))) < MIB
    assert doc["locales"][:4] == ["en", "de", "fr", "no"]


def test_all_locales_exceed_what_one_object_can_hold() -> None:
    everything = identity_flow(available_locales())

    assert len(canonical_bytes(everything)) > int(1.5 * MIB)
    with pytest.raises(ValueError, match="cannot build"):
        flow_of_size(10 * MIB)


def test_default_data_location_is_next_to_the_repository() -> None:
    assert documents._DEFAULT_DIR.parts[-3:] == ("shared", "testdata", "ory-elements-locales")
