"""`diff A B`: JSON Pointer changes between two versions, or one flow in two environments."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from ...domain.diff import diff as json_diff
from ..documents import load
from ..errors import FAILED
from ..formatting import change_dict, change_line, count_ops, describe_counts, stat_rows
from ..output import Output
from ..parser import add_command, flow_or_version_reference, flow_reference, positive_width
from ..refs import FlowRef
from ..session import Session


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = add_command(
        commands,
        common,
        "diff",
        "changes between two versions or two environments",
        "Show what changes from A to B as JSON Pointer changes with old and new values.\n"
        "A and B are FLOW[@VERSION] (in -n ENV) or ENVIRONMENT/FLOW[@VERSION]; B may be just @VERSION\n"
        "for another version of A's flow.\n\n"
        "  kubectl flowops diff standard@3 standard@HEAD -n development\n"
        "  kubectl flowops diff standard@3 @5 -n development\n"
        "  kubectl flowops diff development/standard production/standard --stat",
    )
    parser.add_argument("a", type=flow_reference, metavar="A")
    parser.add_argument("b", type=flow_or_version_reference, metavar="B")
    parser.add_argument("--stat", action="store_true", help="only count the changes, per part of the document")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when there are differences (like git diff)")
    parser.add_argument(
        "--max-width",
        type=positive_width,
        default=100,
        metavar="CHARS",
        help="cut values longer than this in the text output (default 100; -o json is never cut)",
    )
    parser.set_defaults(run=run)


def stat_cells(changes: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for prefix, counts in stat_rows(changes):
        total = sum(counts.values())
        bar = Text()
        bar.append("+" * min(counts["add"], 40), style="green")
        bar.append("-" * min(counts["remove"], 40), style="red")
        bar.append("~" * min(counts["replace"], 40), style="yellow")
        rows.append([prefix, total, bar])
    return rows


def render(out: Output, a_label: str, b_label: str, changes: list[dict[str, Any]], stat: bool, width: int) -> None:
    summary = describe_counts(len(changes), count_ops(changes))
    out.line(Text(f"--- {a_label}", style="red"))
    out.line(Text(f"+++ {b_label}", style="green"))
    if stat and changes:
        out.table(["path", "changes", ""], stat_cells(changes))
    elif not stat:
        for change in changes:
            out.line(change_line(change, width))
    out.line(summary)


def run(session: Session, args: argparse.Namespace) -> int:
    a, b_ref = load(session, args.a), args.b
    if b_ref.flow is None:  # "@VERSION": the same flow in the same environment
        b_ref = FlowRef(a.flow, a.environment.name if a.environment.managed else a.environment.namespace, b_ref.selector)
    # B without an environment is in -n's environment, or else in A's.
    b = load(session, b_ref, a.environment if not b_ref.environment and not session.namespace else None)
    changes = [change_dict(c) for c in json_diff(a.document, b.document)]
    out = session.output
    if out.structured:
        counts = count_ops(changes)
        out.data(
            {
                "from": a.describe(),
                "to": b.describe(),
                "total": len(changes),
                "added": counts["add"],
                "removed": counts["remove"],
                "replaced": counts["replace"],
                **({} if args.stat else {"changes": changes}),
            }
        )
    else:
        render(out, a.label, b.label, changes, args.stat, args.max_width)
    return FAILED if args.exit_code and changes else 0
