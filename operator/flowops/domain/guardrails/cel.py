"""Custom guardrails written in CEL, evaluated with cel-python (celpy).

The flow document is bound to the variable ``content``; a rule passes when the
expression evaluates to boolean true. Anything else (false, another type, an
evaluation error such as a missing key) fails the rule, so a broken rule never
lets a broken flow through.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, base_functions

from .model import RuleError, Violation

VARIABLE = "content"

# celpy's comprehension macros; the first argument (two for reduce) binds a variable.
_MACROS = {"all", "exists", "exists_one", "map", "filter", "reduce", "min"}
_FUNCTIONS = {name for name in base_functions if name[:1].isalpha()}
_GLOBAL_FUNCTIONS = _FUNCTIONS | {"has", "dyn"}
_METHODS = _FUNCTIONS | _MACROS
# Type names can appear as plain identifiers, e.g. type(x) == string.
_IDENTIFIERS = {VARIABLE, "google"} | _FUNCTIONS

_MAX_ERROR = 300


@functools.lru_cache(maxsize=1)
def _environment() -> celpy.Environment:
    # Created lazily: celpy.Environment() raises the recursion limit as a side effect.
    return celpy.Environment()


@dataclass(frozen=True)
class CelRule:
    name: str
    expression: str
    message: str
    program: Any = field(compare=False, repr=False)


def compile_cel(name: str, expression: str, message: str = "") -> CelRule | RuleError:
    """Parse and check once; the program is reused for every document."""
    env = _environment()
    try:
        ast = env.compile(expression)
    except CELParseError as exc:
        return RuleError(name, _syntax_error(expression, exc))
    problem = _check_names(ast)
    if problem:
        return RuleError(name, problem)
    try:
        program = env.program(ast)
    except Exception as exc:  # celpy raises assorted errors for odd ASTs
        return RuleError(name, f"CEL expression cannot be compiled: {_short(str(exc))}")
    return CelRule(name, expression, message, program)


def activation(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The variables for evaluation; build once per document, share across rules."""
    return {VARIABLE: json_to_cel(dict(doc))}


def evaluate_cel(rule: CelRule, variables: Mapping[str, Any]) -> list[Violation]:
    try:
        result = rule.program.evaluate(dict(variables))
    except CELEvalError as exc:
        return [_eval_failure(rule, exc)]
    except Exception as exc:  # fail closed on anything celpy did not anticipate
        return [Violation("", f"CEL rule {rule.name} could not be evaluated: {type(exc).__name__}: {_short(str(exc))}")]
    if isinstance(result, CELEvalError):
        return [_eval_failure(rule, result)]
    if isinstance(result, celtypes.BoolType):
        if result:
            return []
        message = rule.message or f"CEL rule {rule.name} is false: change the flow so that `{rule.expression}` holds"
        return [Violation("", message)]
    kind = type(result).__name__.replace("Type", "").lower() if result is not None else "null"
    return [
        Violation(
            "",
            f"CEL rule {rule.name} evaluated to a {kind}, not a boolean: make the expression return true or false",
        )
    ]


def _eval_failure(rule: CelRule, exc: CELEvalError) -> Violation:
    detail = _short(str(exc.args[0] if exc.args else exc))
    hint = ""
    if "no such" in detail:  # a missing member or key: the usual cause on other documents
        hint = f"; guard optional parts with has(), e.g. !has({VARIABLE}.forms) || ..."
    return Violation("", f"CEL rule {rule.name} could not be evaluated: {detail}{hint}")


def _short(text: str) -> str:
    # celpy appends its whole activation to "undeclared reference" errors.
    text = re.sub(r"\s*\(in activation .*", "", text, flags=re.S)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"


def _syntax_error(expression: str, exc: CELParseError) -> str:
    lark_exc = exc.__context__
    token = getattr(lark_exc, "token", None)
    char = getattr(lark_exc, "char", None)
    if token is not None and str(token) == "":
        what = "end of expression"
    elif token is not None:
        what = f'"{token}"'
    elif char is not None:
        what = f'character "{char}"'
    else:
        what = "input"
    where = ""
    if exc.line is not None:
        where = f" at line {exc.line}, column {exc.column}"
        source = expression.splitlines()[exc.line - 1] if expression.splitlines() else expression
    else:
        source = expression
    detail = f"unexpected {what}" if lark_exc is not None else _short(str(exc))
    return f"CEL syntax error{where}: {detail} in {_short(source)!r}"


def _check_names(ast: lark.Tree[Any]) -> str | None:
    """Report unknown variables and functions now rather than on every evaluation."""
    bound: set[str] = set()
    for node in ast.iter_subtrees():
        if node.data == "member_dot_arg" and len(node.children) == 3 and str(node.children[1]) in _MACROS:
            args = node.children[2].children
            for arg in args[: 2 if str(node.children[1]) == "reduce" else 1]:
                name = _bare_identifier(arg)
                if name:
                    bound.add(name)
    for node in ast.iter_subtrees_topdown():  # type: ignore[no-untyped-call]  # lark leaves it unannotated
        if node.data == "ident":
            token = node.children[0]
            if str(token) not in _IDENTIFIERS and str(token) not in bound:
                return (
                    f"unknown variable {str(token)!r}{_at(token)}: the flow document is the variable "
                    f"{VARIABLE}, e.g. {VARIABLE}.forms.signInForm"
                )
        elif node.data == "ident_arg":
            token = node.children[0]
            if str(token) not in _GLOBAL_FUNCTIONS:
                return f"unknown function {str(token)}(){_at(token)}; known: {', '.join(sorted(_GLOBAL_FUNCTIONS))}"
        elif node.data == "member_dot_arg":
            token = node.children[1]
            if str(token) not in _METHODS:
                return f"unknown function .{str(token)}(){_at(token)}; known: {', '.join(sorted(_METHODS))}"
    return None


def _bare_identifier(tree: Any) -> str | None:
    # A macro variable parses as expr > ... > member > primary > ident, each with one child.
    while isinstance(tree, lark.Tree):
        if tree.data == "ident":
            return str(tree.children[0])
        if len(tree.children) != 1:
            return None
        tree = tree.children[0]
    return None


def _at(token: Any) -> str:
    line, column = getattr(token, "line", None), getattr(token, "column", None)
    return f" at line {line}, column {column}" if line is not None else ""
