"""pyinstrument inside the operator process: the event loop thread and every handler call.

pyinstrument samples one thread per profiler. Kopf runs the asyncio machinery (watch
streams, diff-base, patches) on the main thread and sync handlers in a thread pool, so
the main thread gets one profiler for the whole run and each call of the profiled
service functions gets its own, combined into one session per function. Written at exit.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer
from pyinstrument.session import Session

# The service functions the handlers call, one per controller.
DEFAULT_TARGETS = (
    "flowops.services.flows:reconcile,flowops.services.promotions:reconcile,flowops.services.bindings:reresolve_clients"
)
INTERVAL = 0.001


def install(out: str) -> None:
    # One directory per process: the restart scenario starts the operator again.
    directory = Path(out) / f"pid-{os.getpid()}"
    directory.mkdir(parents=True, exist_ok=True)
    sessions: dict[str, Session] = {}
    lock = threading.Lock()
    main = Profiler(interval=INTERVAL, async_mode="disabled")
    main.start()

    for target in os.environ.get("FLOWOPS_BENCH_PROFILE_TARGETS", DEFAULT_TARGETS).split(","):
        module_name, _, function_name = target.strip().partition(":")
        try:
            module = importlib.import_module(module_name)
            function = getattr(module, function_name)
        except (ImportError, AttributeError):
            continue  # a controller this operator does not have
        setattr(module, function_name, _profiled(function, target, sessions, lock))

    def dump() -> None:
        _write(directory / "main-thread", main.stop())
        with lock:
            for target, session in sessions.items():
                _write(directory / target.replace(":", "."), session)

    atexit.register(dump)


def _profiled(
    function: Callable[..., Any], target: str, sessions: dict[str, Session], lock: threading.Lock
) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        profiler = Profiler(interval=INTERVAL, async_mode="disabled")
        profiler.start()
        try:
            return function(*args, **kwargs)
        finally:
            session = profiler.stop()
            with lock:
                previous = sessions.get(target)
                sessions[target] = Session.combine(previous, session) if previous else session

    return wrapper


def _write(stem: Path, session: Session) -> None:
    # Names contain dots (module paths): append suffixes, never replace them.
    session.save(f"{stem}.pyisession")
    text = ConsoleRenderer(unicode=True, color=False, show_all=False, time="seconds").render(session)
    Path(f"{stem}.txt").write_text(text)
    flat = ConsoleRenderer(unicode=True, color=False, flat=True, flat_time="self").render(session)
    Path(f"{stem}.flat.txt").write_text(flat)
