"""The command line: kubectl's flags on every command, one sub-command per module."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence

from ..domain.pointer import split_pointer
from ..domain.versionid import Selector, parse_selector
from .errors import EXIT_CODES_HELP, UserError
from .output import FORMATS
from .refs import FlowRef, parse_flow_ref

DESCRIPTION = """\
Inspect and operate flowops flows the kubectl way: status across environments,
history, show, diff, promote, rollback, restore, commit, copy, pin and why.

-n/--namespace takes an Environment name (e.g. -n production) or its namespace.
Versions are selected with HEAD (or latest), a 20-digit id, a number, sha256:<content hash>
or uncommitted.
Flows are referenced as FLOW, FLOW@VERSION or ENVIRONMENT/FLOW[@VERSION]."""

EPILOG = (
    EXIT_CODES_HELP
    + """

examples:
  kubectl flowops status
  kubectl flowops history standard -n production
  kubectl flowops diff development/standard production/standard --stat
  kubectl flowops promote standard --from staging --to production
  kubectl flowops rollback standard --to 41 -n production
  kubectl flowops why web-frontend -n development"""
)


def common_options() -> argparse.ArgumentParser:
    """kubectl's flags, accepted before or after the sub-command.

    Defaults are SUPPRESS so a value given before the sub-command is not reset by the
    sub-command's own (unset) copy of the flag.
    """
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("kubectl options")
    group.add_argument(
        "--kubeconfig", default=argparse.SUPPRESS, metavar="PATH", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"
    )
    group.add_argument("--context", default=argparse.SUPPRESS, metavar="NAME", help="kubeconfig context to use")
    group.add_argument(
        "-n",
        "--namespace",
        default=argparse.SUPPRESS,
        metavar="ENV",
        help="environment: an Environment name or its namespace (default: the context's namespace)",
    )
    group.add_argument("-o", "--output", default=argparse.SUPPRESS, choices=FORMATS, help="output format (default: table)")
    return common


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def duration(text: str) -> float:
    """Seconds from kubectl-style durations: 90, 90s, 5m, 1h30m."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use e.g. 30s, 5m or 1h")
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def positive_width(text: str) -> int:
    """argparse type: a width in characters. 0 or less would cut every value to its first
    character without saying so, so it is refused naming the flag."""
    try:
        chars = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of characters, got {text!r}") from None
    if chars < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of characters, got {chars}")
    return chars


def version_selector(text: str) -> Selector:
    """argparse type: a malformed selector is reported naming its flag, before the cluster is asked."""
    try:
        return parse_selector(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def committed_version(refusal: str) -> Callable[[str], Selector]:
    """A version_selector that refuses uncommitted, in the command's own words."""

    def parse(text: str) -> Selector:
        selector = version_selector(text)
        if selector.kind == "uncommitted":
            raise argparse.ArgumentTypeError(refusal)
        return selector

    return parse


def flow_reference(text: str) -> FlowRef:
    """argparse type: FLOW, FLOW@VERSION or ENVIRONMENT/FLOW[@VERSION], checked like a selector flag."""
    try:
        return parse_flow_ref(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def flow_or_version_reference(text: str) -> FlowRef:
    """flow_reference, or just @VERSION (another version of the flow named before)."""
    try:
        return parse_flow_ref(text, allow_bare_selector=True)
    except UserError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def json_pointer(text: str) -> str:
    """argparse type: a JSON Pointer's syntax is checked before the document is fetched."""
    try:
        split_pointer(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def part_pointer(flag: str) -> Callable[[str], str]:
    """A json_pointer that names a part of the document: the empty one (all of it) is refused."""

    def parse(text: str) -> str:
        if text == "":
            raise argparse.ArgumentTypeError(f"the empty pointer is the whole document; leave {flag} out instead")
        return json_pointer(text)

    return parse


def add_wait_options(parser: argparse.ArgumentParser, default_timeout: str, what: str) -> None:
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"follow {what} to the end (--no-wait: return once it is requested)",
    )
    parser.add_argument(
        "--timeout",
        type=duration,
        default=duration(default_timeout),
        metavar="DURATION",
        help=f"how long to wait (default {default_timeout})",
    )


Register = Callable[[argparse._SubParsersAction, argparse.ArgumentParser], None]


def build(registrations: Sequence[Register]) -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="kubectl flowops",
        description=DESCRIPTION,
        epilog=EPILOG,
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    commands.required = True
    for register in registrations:
        register(commands, common)
    return parser


def add_command(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, summary: str, description: str = ""
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        parents=[common],
        help=summary,
        description=description or summary,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
