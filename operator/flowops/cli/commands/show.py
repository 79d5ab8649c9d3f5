"""`show FLOW[@VERSION] [POINTER]`: a version's document, or the value at a JSON Pointer."""

from __future__ import annotations

import argparse

from ..documents import at_pointer, load
from ..parser import add_command
from ..refs import parse_flow_ref
from ..session import Session


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands, common, "show", "print a version's document (or a part of it)",
        "Print the document of FLOW at a version (default HEAD) as JSON (-o yaml for YAML).\n"
        "FLOW may be ENVIRONMENT/FLOW; VERSION is HEAD, latest, an id, a number or uncommitted.\n"
        "POINTER is a JSON Pointer (RFC 6901) such as /forms/signInForm/fields.",
    )
    parser.add_argument("ref", metavar="FLOW[@VERSION]")
    parser.add_argument("pointer", nargs="?", default="", metavar="POINTER", help="JSON Pointer inside the document")
    parser.set_defaults(run=run)


def run(session: Session, args: argparse.Namespace) -> int:
    resolved = load(session, parse_flow_ref(args.ref))
    value = at_pointer(resolved.document, args.pointer) if args.pointer else resolved.document
    session.output.data(value)
    return 0
