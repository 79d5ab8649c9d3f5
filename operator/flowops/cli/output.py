"""Where results go: kubectl-style tables (colour only on a terminal), JSON or YAML.

Results go to stdout; progress and errors go to stderr, so `-o json` output stays
machine-readable while a promotion is followed.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

FORMATS = ("table", "json", "yaml")
Cell = str | int | Text | None

# Trailing padding of a rendered table row, possibly followed by colour resets.
_TRAILING = re.compile(r"[ \t]+((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def _console(stream: TextIO) -> Console:
    terminal = stream.isatty()
    # Off a terminal (pipes, files, tests) nothing is wrapped or cut: the width is unlimited.
    return Console(
        file=stream, highlight=False, markup=False, emoji=False, width=None if terminal else 100_000, soft_wrap=not terminal
    )


def _text(cell: Cell) -> Text:
    if isinstance(cell, Text):
        return cell
    return Text("-" if cell is None or cell == "" else str(cell))


class Output:
    def __init__(self, fmt: str = "table", stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.format = fmt
        self.out = _console(stdout or sys.stdout)
        self.err = _console(stderr or sys.stderr)

    @property
    def structured(self) -> bool:
        return self.format in ("json", "yaml")

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Cell]], wrap: Sequence[str] = ()) -> None:
        """A kubectl-like table: upper-case headers, no borders; `wrap` columns may be cut on a narrow terminal."""
        table = Table(
            box=None, show_edge=False, pad_edge=False, padding=(0, 3, 0, 0), header_style="bold" if self.out.is_terminal else ""
        )
        cells = [[_text(cell) for cell in row] for row in rows]
        needed = 3 * (len(columns) - 1)
        for i, column in enumerate(columns):
            # On a narrow terminal only the `wrap` columns give way (cut with …); the others
            # keep their width and the terminal wraps the line rather than a column vanishing.
            widest = max([len(column)] + [r[i].cell_len for r in cells if i < len(r)])
            least = min(widest, 12) if column in wrap else widest
            needed += least
            table.add_column(column.upper(), no_wrap=True, overflow="ellipsis", min_width=least)
        for row in cells:
            table.add_row(*row)
        with self.out.capture() as captured:
            self.out.print(table, width=max(self.out.width, needed), crop=False)
        self.out.file.write(_TRAILING.sub(r"\1", captured.get()))
        self.out.file.flush()

    def line(self, text: Cell = "") -> None:
        self.out.print(_text(text) if text not in (None, "") else Text(""))

    def data(self, value: Any) -> None:
        """The result for machines, in the -o format (table falls back to JSON)."""
        if self.format == "yaml":
            self.out.file.write(yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False))
        else:
            self.out.file.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        self.out.file.flush()

    def progress(self, text: Cell) -> None:
        """Progress of a long operation: stdout for people, stderr when stdout is for machines."""
        (self.err if self.structured else self.out).print(_text(text))

    def note(self, text: Cell) -> None:
        self.err.print(_text(text))

    def error(self, message: str, hint: str | None = None, prefix: str = "error") -> None:
        line = Text()
        line.append(f"{prefix}: ", style="bold red")
        line.append(message)
        self.err.print(line)
        if hint:
            self.err.print(Text(hint, style="dim"))
