"""Named fault points for failure tests, unset in production.

FLOWOPS_CRASH_AT=<name> makes the process SIGKILL itself there, exactly as an OOM kill or
node loss would stop it. FLOWOPS_STALL_AT=<name>:<seconds> holds the thread that reaches
<name> for that long, as a hung API call would hold it."""

from __future__ import annotations

import logging
import os
import signal
import time

log = logging.getLogger(__name__)

_ARMED = os.environ.get("FLOWOPS_CRASH_AT", "")
_STALL_NAME, _, _STALL_SECONDS = os.environ.get("FLOWOPS_STALL_AT", "").partition(":")


def crash_point(name: str) -> None:
    if _ARMED and _ARMED == name:
        os.kill(os.getpid(), signal.SIGKILL)


def stall_point(name: str) -> None:
    if _STALL_NAME and _STALL_NAME == name:
        log.warning("stalled at %s for %s s (FLOWOPS_STALL_AT)", name, _STALL_SECONDS)
        time.sleep(float(_STALL_SECONDS or 0))
