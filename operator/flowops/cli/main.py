"""Entry point of `kubectl-flowops`: parse, run one command, turn failures into exit codes."""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback

import urllib3

from ..kube import ApiError, Forbidden, Invalid, NotFound
from . import errors
from .commands import check, clients, diff, edit, history, promote, show, status
from .errors import CliError
from .output import Output
from .parser import build
from .session import Session

COMMANDS = [
    status.register,
    history.register,
    show.register,
    diff.register,
    promote.register,
    edit.register,
    clients.register,
    check.register,
]


def connection_problem(exc: Exception) -> str:
    """The root cause of a connection failure ("[Errno 111] Connection refused"), not urllib3's retry story."""
    text = str(getattr(exc, "reason", None) or exc)
    found = re.search(r"\[Errno -?\d+\] [^\"')]+", text)
    return found.group(0) if found else text


def api_error_code(exc: ApiError) -> int:
    if isinstance(exc, Forbidden) or exc.status == 401:
        return errors.FORBIDDEN
    if isinstance(exc, (NotFound, Invalid)) or exc.status == 400:
        return errors.USAGE
    return errors.FAILED


def run(args: argparse.Namespace, output: Output) -> int:
    session = Session(getattr(args, "kubeconfig", None), getattr(args, "context", None), getattr(args, "namespace", None), output)
    try:
        return int(args.run(session, args) or errors.OK)
    except CliError as exc:
        output.error(exc.message, exc.hint)
        return exc.code
    except ApiError as exc:
        # kubectl's wording, so the message reads the same as from `kubectl get`.
        output.error(exc.message, prefix=f"Error from server ({exc.reason or exc.status})")
        return api_error_code(exc)
    except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
        host = session.__dict__["kube"].configuration.host if "kube" in session.__dict__ else "the API server"
        output.error(f"cannot reach {host}: {connection_problem(exc)}")
        return errors.FAILED


def main(argv: list[str] | None = None) -> int:
    args = build(COMMANDS).parse_args(argv)  # usage errors exit 2, like kubectl's
    output = Output(getattr(args, "output", None) or "table")
    try:
        return run(args, output)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `kubectl flowops history x | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return errors.OK
    except Exception as exc:  # a bug, not a user error: say so briefly, trace on request
        if os.environ.get("FLOWOPS_DEBUG"):
            traceback.print_exc()
        output.error(f"unexpected {type(exc).__name__}: {exc}", "set FLOWOPS_DEBUG=1 to see where it happened")
        return errors.FAILED


if __name__ == "__main__":
    sys.exit(main())
