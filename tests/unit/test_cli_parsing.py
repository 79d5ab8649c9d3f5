"""Argument parsing of kubectl-flowops: references, selectors, durations, kubectl flags."""

from __future__ import annotations

import argparse

import pytest

from flowops.cli.errors import UserError
from flowops.cli.main import COMMANDS, main
from flowops.cli.parser import build, duration
from flowops.cli.refs import parse_flow_ref


def test_flow_ref_forms():
    ref = parse_flow_ref("standard")
    assert (ref.flow, ref.environment, str(ref.selector)) == ("standard", None, "HEAD")
    ref = parse_flow_ref("production/standard@41")
    assert (ref.flow, ref.environment, ref.selector.kind, ref.selector.value) == ("standard", "production", "number", 41)
    ref = parse_flow_ref("ns-dev/login@20261121093012123456")
    assert (ref.environment, ref.selector.kind) == ("ns-dev", "id")
    assert parse_flow_ref("login@latest").selector.kind == "head"
    assert parse_flow_ref("login@uncommitted").selector.kind == "uncommitted"


def test_bare_selector_only_where_allowed():
    assert parse_flow_ref("@3", allow_bare_selector=True).flow is None
    with pytest.raises(UserError, match="expected FLOW"):
        parse_flow_ref("@3")


@pytest.mark.parametrize(
    "text, message",
    [
        ("login@", "a version selector must follow '@'"),
        ("/login", "an environment must precede '/'"),
        ("Login", "invalid flow name 'Login'"),
        ("login@v2", "invalid version selector 'v2'"),
        ("login@20261399000000000000", "not a real UTC time"),
    ],
)
def test_flow_ref_errors_say_what_to_type(text, message):
    with pytest.raises(UserError, match=message):
        parse_flow_ref(text)


def test_durations():
    assert duration("90") == 90
    assert duration("30s") == 30
    assert duration("5m") == 300
    assert duration("1h30m") == 5400
    for bad in ("", "soon", "5x"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration(bad)


def parse(*argv: str) -> argparse.Namespace:
    return build(COMMANDS).parse_args(list(argv))


def test_kubectl_flags_before_or_after_the_command():
    before = parse("--kubeconfig", "/k", "--context", "c", "-n", "production", "-o", "json", "history", "standard")
    after = parse("history", "standard", "--kubeconfig", "/k", "--context", "c", "-n", "production", "-o", "json")
    for args in (before, after):
        assert (args.kubeconfig, args.context, args.namespace, args.output, args.flow) == (
            "/k",
            "c",
            "production",
            "json",
            "standard",
        )


def test_flags_not_given_stay_unset():
    args = parse("-n", "staging", "status")
    assert args.namespace == "staging"
    assert not hasattr(args, "output") and not hasattr(args, "kubeconfig")


def test_promote_options():
    args = parse(
        "promote",
        "standard",
        "--from",
        "staging",
        "--to",
        "production",
        "--include",
        "/a",
        "/b",
        "--exclude",
        "/c",
        "--review",
        "--comment",
        "why",
        "--no-wait",
        "--timeout",
        "2m",
    )
    assert (args.source, args.target, args.include, args.exclude) == ("staging", "production", ["/a", "/b"], ["/c"])
    assert args.review and args.comment == "why" and args.wait is False and args.timeout == 120
    assert parse("promote", "standard", "--to", "production").wait is None  # decided by --review


def run_without_cluster(tmp_path, *argv: str) -> int:
    """main() as the plugin runs it, with a kubeconfig that does not exist: anything that
    needs the cluster fails with "cannot load kubeconfig"."""
    try:
        return main([*argv, "--kubeconfig", str(tmp_path / "no-such-kubeconfig")])
    except SystemExit as exited:  # argparse's usage errors
        return int(exited.code or 0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["promote", "std", "--to", "prod", "--version", "abc"],
            "argument --version: invalid version selector 'abc': expected HEAD",
        ),
        (["copy", "std", "new", "--version", "abc"], "argument --version: invalid version selector 'abc'"),
        (["rollback", "std", "--to", "abc"], "argument --to: invalid version selector 'abc'"),
        (["restore", "std", "--to", "abc"], "argument --to: invalid version selector 'abc'"),
        (["pin", "app", "--version", "abc"], "argument --version: invalid version selector 'abc'"),
        (["show", "std@abc"], "argument FLOW[@VERSION]: invalid version selector 'abc'"),
        (
            ["promote", "std", "--to", "prod", "--version", "20261321093012123456"],
            "argument --version: invalid version id '20261321093012123456': not a real UTC time "
            "(month must be in 1..12); expected 20 digits, UTC time YYYYMMDDhhmmss",
        ),
        (
            ["show", "std@20261121253012123456"],
            "argument FLOW[@VERSION]: invalid version id '20261121253012123456': not a real UTC time "
            "(hour must be in 0..23); expected 20 digits",
        ),
        (["diff", "std@abc", "std"], "argument A: invalid version selector 'abc'"),
        (["diff", "std", "@abc"], "argument B: invalid version selector 'abc'"),
        (
            ["rollback", "std", "--to", "uncommitted"],
            "argument --to: rollback goes to a committed version: name its number or id",
        ),
        (["restore", "std", "--to", "0"], "argument --to: restore takes a committed version: name its number or id"),
        (
            ["pin", "app", "--version", "uncommitted"],
            "argument --version: API clients use committed versions: pin HEAD, a version id or a number",
        ),
    ],
)
def test_bad_selectors_name_their_argument_without_a_cluster(tmp_path, capsys, argv, message):
    refused_offline(tmp_path, capsys, argv, message)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["promote", "std@5", "--to", "prod"], "error: promote takes a flow name; pass the version with --version 5"),
        (
            ["promote", "staging/std@5", "--to", "prod"],
            "error: promote takes a flow name; pass the environment with --from staging and the version with --version 5",
        ),
        (["copy", "std@3", "new"], "error: copy takes a flow name; pass the version with --version 3"),
        (
            ["promote", "std", "--to", "prod", "--as", "std@5"],
            "error: promote --as takes a flow name; pass the version with --version 5",
        ),
        (
            ["promote", "std", "--as", "production/std"],
            "error: promote --as takes a flow name; pass the environment with --to production",
        ),
        (["copy", "std", "new@3"], "error: copy NEW takes a flow name; pass the version with --version 3"),
        (["promote", "std", "--to", "prod", "--as", "Std@5"], "error: invalid target flow name 'Std@5': use a Kubernetes name"),
        (["rollback", "std@5", "--to", "5"], "error: rollback takes a flow name; pass the version with --to 5"),
        (["restore", "std@5", "--to", "5"], "error: restore takes a flow name; pass the version with --to 5"),
        (
            ["history", "std@5"],
            "error: history takes a flow name: kubectl flowops history std (that version: kubectl flowops show std@5)",
        ),
        (["history", "production/std"], "error: history takes a flow name: kubectl flowops history std -n production"),
        (["commit", "std@uncommitted", "-m", "x"], "error: commit takes a flow name: kubectl flowops commit std -m MESSAGE"),
        # Not a reference either: what a flow name is.
        (["history", "Std@5"], "error: invalid flow name 'Std@5': use a Kubernetes name"),
    ],
)
def test_references_where_a_flow_name_goes_say_which_flags_take_the_rest(tmp_path, capsys, argv, message):
    assert run_without_cluster(tmp_path, *argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "cannot load kubeconfig" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["promote", "std", "--to", "prod", "--include", "translations"],
            "argument --include: invalid JSON Pointer 'translations': must be empty or start with '/'",
        ),
        (
            ["promote", "std", "--to", "prod", "--exclude", "/a", ""],
            "argument --exclude: the empty pointer is the whole document; leave --exclude out instead",
        ),
        (["show", "std", "forms"], "argument POINTER: invalid JSON Pointer 'forms': must be empty or start with '/'"),
        (
            ["pin", "app", "--version", "3", "--flow", "std@5"],
            "error: pin --flow takes a flow name; pass the version with --version 5",
        ),
        (["copy", "std", "std"], "error: copy needs a different name for the new flow"),
        (["diff", "std@1", "@2", "--max-width", "0"], "argument --max-width: expected a positive number of characters, got 0"),
        (["diff", "std@1", "@2", "--max-width=-5"], "argument --max-width: expected a positive number of characters, got -5"),
        (["check", "-f", "flows/", "--max-width", "0"], "argument --max-width: expected a positive number of characters, got 0"),
        (
            ["check", "-f", "flows/", "--max-width", "wide"],
            "argument --max-width: expected a positive number of characters, got 'wide'",
        ),
        (
            ["status", "std@5"],
            "error: status takes a flow name: kubectl flowops status std (that version: kubectl flowops show std@5)",
        ),
    ],
)
def test_other_arguments_are_checked_without_a_cluster(tmp_path, capsys, argv, message):
    refused_offline(tmp_path, capsys, argv, message)


def test_selector_arguments_keep_their_forms():
    assert parse("promote", "std", "--to", "prod").version.kind == "head"  # the default
    assert parse("promote", "std", "--to", "prod", "--version", "uncommitted").version.kind == "uncommitted"
    assert parse("copy", "std", "new", "--version", "latest").version.kind == "head"
    assert parse("rollback", "std", "--to", "41").version.value == 41
    assert parse("restore", "std", "--to", "20261121093012123456").version.kind == "id"
    assert parse("pin", "app", "--version", "HEAD").version.kind == "head"
    assert str(parse("show", "production/std@3").ref) == "production/std@3"
    assert parse("diff", "std@3", "@5").b.flow is None
    assert parse("show", "std").pointer == ""  # the whole document
    assert parse("diff", "std@1", "@2", "--max-width", "1").max_width == 1
    assert parse("check", "-f", "flows/").max_width == 100


def test_usage_errors_exit_2(capsys):
    for argv in (["bogus"], ["rollback", "standard"], ["-o", "wide", "status"], []):
        with pytest.raises(SystemExit) as exited:
            parse(*argv)
        assert exited.value.code == 2


def test_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        parse("--help")
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for line in ("0  success", "1  the operation failed", "2  usage or user error", "3  forbidden"):
        assert line in text
    for command in (
        "status",
        "history",
        "show",
        "diff",
        "promote",
        "approve",
        "rollback",
        "restore",
        "commit",
        "copy",
        "pin",
        "why",
    ):
        assert f"    {command} " in text


def test_api_errors_map_to_exit_codes():
    from flowops.cli.main import api_error_code
    from flowops.kube import ApiError, Conflict, Forbidden, Invalid, NotFound

    assert api_error_code(Forbidden(403, "Forbidden", "denied")) == 3
    assert api_error_code(ApiError(401, "Unauthorized", "who are you")) == 3
    assert api_error_code(NotFound(404, "NotFound", "gone")) == 2
    assert api_error_code(Invalid(422, "Invalid", "bad spec")) == 2
    assert api_error_code(Conflict(409, "Conflict", "try again")) == 1
    assert api_error_code(ApiError(500, "InternalError", "boom")) == 1


def test_connection_failures_name_the_cause():
    from flowops.cli.main import connection_problem

    class MaxRetry(Exception):
        reason = OSError(
            "HTTPSConnection(host='127.0.0.1', port=1): Failed to establish a new connection: [Errno 111] Connection refused"
        )

    assert connection_problem(MaxRetry()) == "[Errno 111] Connection refused"
    assert connection_problem(ValueError("timed out")) == "timed out"


def refused_offline(tmp_path, capsys, argv, message):
    """Refused while parsing, with `message`: the cluster (absent here) was never asked."""
    assert run_without_cluster(tmp_path, *argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "cannot load kubeconfig" not in err
