"""A mistyped numeric setting stops the operator with a line that names the variable and
its fix, before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flowops import envsettings


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("FLOWOPS_GC_THRESHOLD", None, 0),
        ("FLOWOPS_GC_THRESHOLD", "", 0),  # set empty by a template: the default
        ("FLOWOPS_GC_THRESHOLD", " 700 ", 700),
        ("FLOWOPS_LIST_CHUNK_SIZE", "0", 0),
        ("FLOWOPS_MAX_WORKERS", "16", 16),
    ],
)
def test_a_well_formed_or_absent_setting_is_read(name: str, raw: str | None, expected: int) -> None:
    environ = {} if raw is None else {name: raw}
    assert envsettings.integer(name, environ) == expected
    assert envsettings.problems(environ) == []


def test_seconds_take_a_fraction() -> None:
    assert envsettings.number("FLOWOPS_METRICS_SWEEP_INTERVAL", {"FLOWOPS_METRICS_SWEEP_INTERVAL": "0.5"}) == 0.5


@pytest.mark.parametrize(
    ("name", "raw", "words"),
    [
        ("FLOWOPS_GC_THRESHOLD", "2k", "FLOWOPS_GC_THRESHOLD='2k' is not a whole number ≥ 0"),
        ("FLOWOPS_GC_THRESHOLD", "-1", "FLOWOPS_GC_THRESHOLD='-1' is not a whole number ≥ 0"),
        ("FLOWOPS_MALLOC_ARENAS", "2.5", "FLOWOPS_MALLOC_ARENAS='2.5' is not a whole number ≥ 0"),
        ("FLOWOPS_MAX_WORKERS", "0", "FLOWOPS_MAX_WORKERS='0' is not a whole number ≥ 1 (handler threads)"),
        ("FLOWOPS_METRICS_SWEEP_INTERVAL", "5m", "FLOWOPS_METRICS_SWEEP_INTERVAL='5m' is not a number ≥ 0"),
        ("FLOWOPS_METRICS_SWEEP_INTERVAL", "nan", "FLOWOPS_METRICS_SWEEP_INTERVAL='nan' is not a number ≥ 0"),
    ],
)
def test_a_malformed_setting_is_named_with_its_fix(name: str, raw: str, words: str) -> None:
    environ = {name: raw}
    with pytest.raises(envsettings.SettingError) as raised:
        envsettings.number(name, environ)
    assert str(raised.value).startswith(words)
    assert "unset it for the default" in str(raised.value)
    assert envsettings.problems(environ) == [str(raised.value)]


def test_every_malformed_setting_is_reported_at_once() -> None:
    environ = {"FLOWOPS_GC_THRESHOLD": "x", "FLOWOPS_RECORD_CACHE": "lots", "FLOWOPS_MAX_WORKERS": "4"}
    named = [problem.split("=")[0] for problem in envsettings.problems(environ)]
    assert named == ["FLOWOPS_RECORD_CACHE", "FLOWOPS_GC_THRESHOLD"]


def test_the_operator_refuses_to_start_with_a_malformed_setting_and_says_why() -> None:
    environ = {
        **os.environ,
        "FLOWOPS_GC_THRESHOLD": "2k",
        "FLOWOPS_KEYFRAME_CACHE_BYTES": "2MiB",
        "FLOWOPS_LOG_FORMAT": "yaml",
        "FLOWOPS_PRIORITY": "high",
    }
    # No cluster is reachable at this kubeconfig: the check must come before any connection.
    args = [sys.executable, "-m", "flowops", "--kubeconfig", "/nonexistent", "--liveness", "", "--metrics", ""]
    finished = subprocess.run(args, env=environ, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1
    assert "Traceback" not in finished.stderr
    assert finished.stderr.splitlines() == [
        "flowops-operator: FLOWOPS_KEYFRAME_CACHE_BYTES='2MiB' is not a whole number ≥ 0 (bytes of decoded keyframes "
        "kept); set it to one, or unset it for the default 2097152",
        "flowops-operator: FLOWOPS_GC_THRESHOLD='2k' is not a whole number ≥ 0 (allocations between young-generation "
        "collections; 0 keeps CPython's); set it to one, or unset it for the default 0",
        "flowops-operator: FLOWOPS_LOG_FORMAT='yaml' is not one of plain, full, json",
        "flowops-operator: FLOWOPS_PRIORITY='high' is not a whole number; unset it for a random priority",
    ]


def test_flags_win_over_their_variables_and_the_variables_fill_in() -> None:
    from flowops.__main__ import environment_problems, parse_args

    environ = {"FLOWOPS_LOG_FORMAT": "json", "FLOWOPS_PRIORITY": "7"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        flags = parse_args(["--log-format", "plain", "--priority", "9"])
        assert environment_problems(flags) == [] and (flags.log_format, flags.priority) == ("plain", 9)
        unset = parse_args([])
        assert environment_problems(unset) == [] and (unset.log_format, unset.priority) == ("json", 7)
        patch.delenv("FLOWOPS_LOG_FORMAT")
        patch.delenv("FLOWOPS_PRIORITY")
        default = parse_args([])
        assert environment_problems(default) == [] and (default.log_format, default.priority) == ("full", None)


def test_the_cli_does_not_read_the_operators_settings() -> None:
    environ = {**os.environ, "FLOWOPS_KEYFRAME_CACHE_BYTES": "2MiB", "FLOWOPS_METRICS_FLOW_INFO_LIMIT": "all"}
    finished = subprocess.run(
        [sys.executable, "-m", "flowops.cli.main", "--help"], env=environ, capture_output=True, text=True, timeout=60
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    assert "kubectl flowops" in finished.stdout
