"""Named crash points for failure tests: FLOWOPS_CRASH_AT=<name> makes the process SIGKILL
itself there, exactly as an OOM kill or node loss would stop it. Unset in production."""

from __future__ import annotations

import os
import signal

_ARMED = os.environ.get("FLOWOPS_CRASH_AT", "")


def crash_point(name: str) -> None:
    if _ARMED and _ARMED == name:
        os.kill(os.getpid(), signal.SIGKILL)
