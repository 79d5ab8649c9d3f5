"""References to flows and their versions as users type them (pure parsing).

FLOW                  HEAD of FLOW in the environment given by -n
FLOW@SELECTOR         a version: HEAD, latest, a 20-digit id, a number, uncommitted
ENV/FLOW[@SELECTOR]   the same in environment ENV (a name or a namespace)
@SELECTOR             another version of the flow named just before (diff's B side)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..domain.versionid import Selector, parse_selector
from .errors import UserError

_FLOW_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class FlowRef:
    flow: str | None  # None only for the bare "@SELECTOR" form
    environment: str | None  # None: the environment from -n
    selector: Selector

    def __str__(self) -> str:
        where = f"{self.environment}/" if self.environment else ""
        return f"{where}{self.flow or ''}@{self.selector}"


def check_flow_name(
    name: str,
    what: str = "flow name",
    *,
    command: str | None = None,
    version_flag: str | None = None,
    environment_flag: str = "-n",
    usage_tail: str = "",
) -> str:
    """A bare flow name. Given the command, a FLOW@VERSION or ENVIRONMENT/FLOW reference (the
    forms --help teaches) is answered with the flags that say the version and environment."""
    if len(name) <= 63 and _FLOW_NAME.match(name):
        return name
    fix = _reference_fix(name, command, version_flag, environment_flag, usage_tail) if command else None
    raise UserError(
        fix or f"invalid {what} {name!r}: use a Kubernetes name (lowercase letters, digits and '-', at most 63 characters)"
    )


def _reference_fix(text: str, command: str, version_flag: str | None, environment_flag: str, usage_tail: str) -> str | None:
    if "@" not in text and "/" not in text:
        return None
    try:
        ref = parse_flow_ref(text)
    except UserError:
        return None  # not a reference either: the plain message says what a name is
    has_version = "@" in text
    if version_flag is None:
        where = f" {environment_flag} {ref.environment}" if ref.environment else ""
        fix = f"{command} takes a flow name: kubectl flowops {command} {ref.flow}{usage_tail}{where}"
        return fix + (f" (that version: kubectl flowops show {text})" if has_version else "")
    moves = [f"the environment with {environment_flag} {ref.environment}"] if ref.environment else []
    if has_version:
        moves.append(f"the version with {version_flag} {ref.selector}")
    return f"{command} takes a flow name; pass " + " and ".join(moves)


def parse_selector_arg(text: str) -> Selector:
    try:
        return parse_selector(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def parse_flow_ref(text: str, allow_bare_selector: bool = False) -> FlowRef:
    body, at, selector_text = text.partition("@")
    if at and not selector_text:
        raise UserError(f"invalid reference {text!r}: a version selector must follow '@' (e.g. {body}@HEAD)")
    selector = parse_selector_arg(selector_text) if at else Selector("head")
    environment, slash, flow = body.rpartition("/")
    if not slash:
        environment, flow = "", body
    elif not environment:
        raise UserError(f"invalid reference {text!r}: an environment must precede '/' (e.g. production/{flow})")
    if not flow:
        if allow_bare_selector and at and not slash:
            return FlowRef(None, None, selector)
        raise UserError(f"invalid reference {text!r}: expected FLOW, FLOW@VERSION or ENVIRONMENT/FLOW[@VERSION]")
    return FlowRef(check_flow_name(flow), environment or None, selector)
