import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from flowops.domain.versionid import (
    VERSION_ID_DIGITS,
    VERSION_ID_PATTERN,
    Selector,
    VersionNotFound,
    VersionRef,
    format_version_id,
    next_version_id,
    parse_selector,
    parse_version_id,
    resolve_selector,
)

from .test_guardrails_samples import crd_schemas, validate

UTC = UTC


def test_format_example_from_the_spec():
    assert format_version_id(datetime(2026, 11, 21, 9, 30, 12, 123456, tzinfo=UTC)) == "20261121093012123456"


def test_format_converts_aware_times_to_utc_and_takes_naive_as_utc():
    cet = timezone(timedelta(hours=1))
    assert format_version_id(datetime(2026, 1, 1, 0, 30, 0, 5, tzinfo=cet)) == "20251231233000000005"
    assert format_version_id(datetime(2026, 1, 1, 0, 30, 0, 5)) == "20260101003000000005"


REAL_IDS = ["20261121093012123456", "20260101000000000000", "20261231235959999999"]
# Month 13, day 00, hour 25, minute 60, second 60, day 32.
IMPOSSIBLE_TIMES = [
    "20261321093012123456",
    "20261100093012123456",
    "20261121253012123456",
    "20261121096012123456",
    "20261121093060123456",
    "20261132093012123456",
]


def test_pattern_matches_ids_only():
    for real in REAL_IDS:
        assert re.match(VERSION_ID_PATTERN, real)
    for bad in ["2026112109301212345", "20261121093012123456x", *IMPOSSIBLE_TIMES]:
        assert not re.match(VERSION_ID_PATTERN, bad), bad


def test_parse_round_trip_is_aware_utc():
    dt = parse_version_id("20261121093012123456")
    assert dt == datetime(2026, 11, 21, 9, 30, 12, 123456, tzinfo=UTC)
    assert dt.tzinfo is not None and dt.utcoffset() == timedelta(0)
    assert format_version_id(dt) == "20261121093012123456"


@pytest.mark.parametrize("bad", ["", "2026", "2026112109301212345a", "20261321093012123456", "v20261121093012123456"])
def test_parse_rejects_with_clear_message(bad):
    with pytest.raises(ValueError, match="version id"):
        parse_version_id(bad)


def test_ids_strictly_increase_when_the_clock_repeats_or_steps_back():
    t0 = datetime(2026, 11, 21, 9, 30, 12, 999998, tzinfo=UTC)
    clock = [
        t0,
        t0,
        t0,
        t0 + timedelta(microseconds=1),
        t0 - timedelta(seconds=5),
        t0 - timedelta(days=1),
        t0 + timedelta(seconds=1),
    ]
    ids: list[str] = []
    previous = None
    for now in clock:
        previous = next_version_id(now, previous)
        ids.append(previous)
    assert ids == sorted(set(ids)), ids  # strictly increasing, no duplicates
    assert ids[:5] == [
        "20261121093012999998",
        "20261121093012999999",
        "20261121093013000000",  # carries into the next second
        "20261121093013000001",
        "20261121093013000002",
    ]
    assert ids[-1] == "20261121093013999998"  # a good clock is used again as soon as it is ahead


def test_next_id_uses_the_clock_when_ahead():
    now = datetime(2026, 11, 21, 9, 30, 12, 5, tzinfo=UTC)
    assert next_version_id(now, None) == "20261121093012000005"
    assert next_version_id(now, "20250101000000000000") == "20261121093012000005"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("HEAD", Selector("head")),
        ("latest", Selector("head")),
        ("head", Selector("head")),
        ("uncommitted", Selector("uncommitted")),
        ("0", Selector("uncommitted")),
        ("1", Selector("number", 1)),
        ("999999999", Selector("number", 999999999)),
        ("20261121093012123456", Selector("id", "20261121093012123456")),
        (7, Selector("number", 7)),
    ],
)
def test_parse_selector_accepted_forms(text, expected):
    assert parse_selector(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Head",
        "LATEST",
        "",
        " 1",
        "01",
        "-1",
        "1000000000",
        "1.5",
        "v1",
        "Uncommitted",
        "2026112109301212345",
        None,
        True,
    ],
)
def test_parse_selector_errors_name_the_accepted_forms(text):
    with pytest.raises(ValueError) as err:
        parse_selector(text)
    message = str(err.value)
    for form in ("HEAD", "latest", "version id", "version number", "uncommitted"):
        assert form in message


@pytest.mark.parametrize("text", [*IMPOSSIBLE_TIMES, "20260230093012123456"])
def test_twenty_digits_that_are_no_time_say_so_with_the_form(text):
    # The CLI hands this message on for --version and FLOW@VERSION.
    with pytest.raises(ValueError, match="not a real UTC time .*; expected 20 digits, UTC time YYYYMMDDhhmmss"):
        parse_selector(text)


# Every CRD field that takes a version id, as (kind, path to its schema).
CRD_ID_FIELDS = [
    ("ApiClient", "spec.defaultFlow.version"),
    ("Application", "spec.defaultFlow.version"),
    ("FlowVersion", "spec.id"),
    ("FlowVersion", "spec.parent"),
    ("FlowVersion", "spec.storage.base"),
    ("Promotion", "spec.source.version"),
]


def crd_id_fields() -> list[tuple[str, str]]:
    """(kind, path) of every CRD field whose pattern takes an id but no name (names may be digits)."""
    found: list[tuple[str, str]] = []

    def walk(kind: str, schema: dict[str, Any], path: str) -> None:
        pattern = schema.get("pattern")
        if pattern and re.search(pattern, REAL_IDS[0]) and not re.search(pattern, "a"):
            found.append((kind, path))
        for name, child in (schema.get("properties") or {}).items():
            walk(kind, child, f"{path}.{name}".lstrip("."))
        if "items" in schema:
            walk(kind, schema["items"], f"{path}[]")

    for kind, schema in crd_schemas().items():
        walk(kind, schema, "")
    return sorted(found)


def crd_field(kind: str, path: str) -> dict[str, Any]:
    schema = crd_schemas()[kind]
    for name in path.split("."):
        schema = schema["properties"][name]
    return schema


def test_the_table_names_every_crd_field_that_takes_an_id():
    assert crd_id_fields() == CRD_ID_FIELDS


@pytest.mark.parametrize("kind, path", CRD_ID_FIELDS)
def test_crd_id_fields_spell_the_domain_pattern_and_describe_the_form(kind, path):
    field = crd_field(kind, path)
    assert f"^{VERSION_ID_DIGITS}$" == field["pattern"] or f"|{VERSION_ID_DIGITS}|" in field["pattern"]
    assert "YYYYMMDDhhmmss" in field["description"] and "microseconds" in field["description"]


@pytest.mark.parametrize("kind, path", CRD_ID_FIELDS)
def test_crd_id_fields_accept_real_ids_and_refuse_impossible_times(kind, path):
    field = crd_field(kind, path)
    for real in REAL_IDS:
        errors: list[str] = []
        validate(real, field, path, errors)
        assert errors == [], real
    for bad in IMPOSSIBLE_TIMES:
        errors = []
        validate(bad, field, path, errors)
        assert errors == [f"{path}: {bad!r} does not match {field['pattern']}"], bad


def test_selector_is_frozen_and_prints_canonically():
    s = parse_selector("latest")
    with pytest.raises(AttributeError):
        s.kind = "id"  # type: ignore[misc]
    assert [str(parse_selector(t)) for t in ("latest", "0", "12", "20261121093012123456")] == [
        "HEAD",
        "uncommitted",
        "12",
        "20261121093012123456",
    ]


VERSIONS = [VersionRef(f"2026112109301200000{n}", n) for n in range(1, 6)]


def test_resolve_by_head_number_and_id():
    head = VERSIONS[3].id
    assert resolve_selector(parse_selector("HEAD"), VERSIONS, head) == VERSIONS[3]
    assert resolve_selector(parse_selector("2"), VERSIONS, head) == VERSIONS[1]
    assert resolve_selector(parse_selector(VERSIONS[4].id), VERSIONS, head) == VERSIONS[4]


def test_missing_number_lists_what_exists():
    with pytest.raises(VersionNotFound, match=r"^flow has no version 7; it has 1\.\.5$"):
        resolve_selector(parse_selector("7"), VERSIONS, None)
    gappy = [VERSIONS[0], VERSIONS[2], VERSIONS[3]]
    with pytest.raises(VersionNotFound, match=r"it has 1, 3\.\.4$"):
        resolve_selector(parse_selector("2"), gappy, None)


def test_missing_id_names_the_id_range():
    with pytest.raises(VersionNotFound) as err:
        resolve_selector(parse_selector("20200101000000000000"), VERSIONS, None)
    assert "20200101000000000000" in str(err.value)
    assert VERSIONS[0].id in str(err.value) and VERSIONS[-1].id in str(err.value)


def test_no_head_and_no_versions():
    with pytest.raises(VersionNotFound, match=r"flow has no ready version \(HEAD\)"):
        resolve_selector(parse_selector("HEAD"), VERSIONS, None)
    with pytest.raises(VersionNotFound, match="no versions yet"):
        resolve_selector(parse_selector("1"), [], None)
    with pytest.raises(VersionNotFound, match="no longer exists"):
        resolve_selector(parse_selector("latest"), VERSIONS, "20991231000000000000")


def test_version_not_found_is_a_lookup_error():
    assert issubclass(VersionNotFound, LookupError)


def test_uncommitted_is_not_resolvable_here():
    with pytest.raises(ValueError, match="uncommitted"):
        resolve_selector(parse_selector("0"), VERSIONS, VERSIONS[0].id)


def test_content_hash_selector_names_the_newest_version_with_that_content():
    from flowops.domain.versionid import Selector, VersionRef, parse_selector, resolve_selector

    digest = "sha256:" + "ab" * 32
    assert parse_selector(digest) == Selector("hash", digest)
    versions = [
        VersionRef("20260101000000000001", 1, digest),
        VersionRef("20260101000000000002", 2, "sha256:" + "cd" * 32),
        VersionRef("20260101000000000003", 3, digest),
    ]
    assert resolve_selector(parse_selector(digest), versions, None).number == 3


def test_content_hash_selector_errors_name_the_fix():
    import pytest

    from flowops.domain.versionid import VersionNotFound, VersionRef, parse_selector, resolve_selector

    with pytest.raises(ValueError, match="64 lowercase hex digits"):
        parse_selector("sha256:ABC")
    with pytest.raises(VersionNotFound, match="no version with content"):
        resolve_selector(
            parse_selector("sha256:" + "0" * 64), [VersionRef("20260101000000000001", 1, "sha256:" + "1" * 64)], None
        )
