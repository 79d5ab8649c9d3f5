"""Exit codes and the errors that carry them: a user error never ends in a traceback."""

from __future__ import annotations

OK = 0
FAILED = 1  # the operation ran and failed: a Promotion failed, guardrails refused a version
USAGE = 2  # the request is wrong: unknown flow or environment, bad selector or pointer
FORBIDDEN = 3  # denied: RBAC, or an admission policy (protected environment)

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  the operation failed (a Promotion failed, a version failed guardrails, a timeout)
  2  usage or user error (unknown flow, environment, version or client; bad selector)
  3  forbidden (RBAC denied the request, or a protected environment refused it)"""


class CliError(Exception):
    """An error to report as one line on stderr, with an exit code."""

    code = FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UserError(CliError):
    code = USAGE


class Denied(CliError):
    code = FORBIDDEN


class OperationFailed(CliError):
    code = FAILED
