"""Named fault points for failure tests, unset in production.

FLOWOPS_CRASH_AT=<name> makes the process SIGKILL itself there, exactly as an OOM kill or
node loss would stop it. FLOWOPS_STALL_AT=<name>:<seconds> holds the thread that reaches
<name> for that long, as a hung API call would hold it; FLOWOPS_STALL_FOR=<name>[,<name>...]
narrows that to the objects of those names, so that others pass."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)

_ARMED = os.environ.get("FLOWOPS_CRASH_AT", "")
_STALL_NAME, _, _STALL_SECONDS = os.environ.get("FLOWOPS_STALL_AT", "").partition(":")
_STALL_FOR = {name for name in os.environ.get("FLOWOPS_STALL_FOR", "").split(",") if name}


def crash_point(name: str) -> None:
    if _ARMED and _ARMED == name:
        os.kill(os.getpid(), signal.SIGKILL)


def stall_point(name: str, subject: str = "") -> None:
    if _STALL_NAME and _STALL_NAME == name and (not _STALL_FOR or subject.rpartition("/")[2] in _STALL_FOR):
        # Names what is held and by which thread: a test can wait for its own object.
        where = threading.current_thread().name
        log.warning("stalled at %s for %s in %s for %s s (FLOWOPS_STALL_AT)", name, subject or "-", where, _STALL_SECONDS)
        time.sleep(float(_STALL_SECONDS or 0))
