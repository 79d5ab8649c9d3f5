"""`show FLOW[@VERSION] [POINTER]`: a version's document, or the value at a JSON Pointer;
with --rendered, as the environment's clients get it (values filled in)."""

from __future__ import annotations

import argparse

from ...domain import values
from ..documents import at_pointer, load
from ..errors import UserError
from ..parser import add_command, flow_reference, json_pointer
from ..session import Session


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "show",
        "print a version's document (or a part of it)",
        "Print the document of FLOW at a version (default HEAD) as JSON (-o yaml for YAML).\n"
        "FLOW may be ENVIRONMENT/FLOW; VERSION is HEAD, latest, an id, a number or uncommitted.\n"
        "POINTER is a JSON Pointer (RFC 6901) such as /forms/signInForm/fields.\n"
        "Documents are stored with $(values.NAME) references; --rendered replaces them with the\n"
        "environment's spec.values, exactly as the ApiClient ConfigMaps get them.",
    )
    parser.add_argument("ref", type=flow_reference, metavar="FLOW[@VERSION]")
    parser.add_argument(
        "pointer", nargs="?", type=json_pointer, default="", metavar="POINTER", help="JSON Pointer inside the document"
    )
    parser.add_argument(
        "--rendered",
        action="store_true",
        help="replace $(values.NAME) references with the environment's values (what clients get)",
    )
    parser.set_defaults(run=run)


def run(session: Session, args: argparse.Namespace) -> int:
    resolved = load(session, args.ref)
    document = resolved.document
    if args.rendered:
        env = resolved.environment
        try:
            document, _ = values.render(document, dict(env.values), env.label)
        except values.Unrenderable as exc:
            raise UserError(f"{resolved.label} cannot be rendered: {exc}") from None
    value = at_pointer(document, args.pointer) if args.pointer else document
    session.output.data(value)
    return 0
