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


def check_flow_name(name: str, what: str = "flow name") -> str:
    if len(name) > 63 or not _FLOW_NAME.match(name):
        raise UserError(
            f"invalid {what} {name!r}: use a Kubernetes name (lowercase letters, digits and '-', at most 63 characters)"
        )
    return name


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
