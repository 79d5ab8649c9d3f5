"""Operator logging: what an operator of thousands of flows wants to read."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from typing import Any

from kopf._cogs.structs import bodies


def routine(level: int, message: object) -> bool:
    """Kopf's "Handler 'x' succeeded.", written per handler per watch event: with thousands
    of flows it is most of the log. The "... is processed" summary per change or resume
    and every failure are kept."""
    return (
        level == logging.INFO
        and isinstance(message, str)
        and message.startswith("Handler '")
        and message.endswith("' succeeded.")
    )


class ExpectedRetries:
    """Retries a handler announced before raising Kopf's TemporaryError, with the level
    Kopf's "Handler 'x' failed temporarily: <reason>" line about each should have. Kopf
    logs every one at ERROR, which log-based alerts count; a retry after another writer
    moved an object first is ordinary, worth a WARNING only if it keeps happening."""

    MARK = "' failed temporarily: "

    def __init__(self, limit: int = 1024) -> None:
        # Per reason, in the order announced: two objects of one name in two namespaces
        # may retry with the same words at once.
        self._levels: OrderedDict[str, deque[int]] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def expect(self, reason: str, level: int) -> None:
        with self._lock:
            self._levels.setdefault(reason, deque(maxlen=self._limit)).append(level)
            self._levels.move_to_end(reason)
            while len(self._levels) > self._limit:  # ones Kopf never logged (e.g. the operator stopping)
                self._levels.popitem(last=False)

    def level_for(self, level: int, message: object) -> int:
        if level != logging.ERROR or not isinstance(message, str) or not message.startswith("Handler '"):
            return level
        _, mark, reason = message.partition(self.MARK)
        if not mark:
            return level
        with self._lock:
            levels = self._levels.get(reason)
            if not levels:
                return level
            chosen = levels.popleft()
            if not levels:
                del self._levels[reason]
            return chosen


EXPECTED_RETRIES = ExpectedRetries()


class ObjectLogger(logging.Logger):
    """Kopf's per-object logger: expected retries at the level their handler chose."""

    drop_routine = False

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.drop_routine and routine(level, msg):
            return
        level = EXPECTED_RETRIES.level_for(level, msg)
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1  # the caller is Kopf, not this method
        super().log(level, msg, *args, **kwargs)


class QuietObjectLogger(ObjectLogger):
    """Drops routine lines too, before a record is made (a third of what a filter costs:
    it sees them only after the caller's frame was looked up and the record built)."""

    drop_routine = True


# What a fresh or restarting API server answers while it comes up: the request is retried
# and then succeeds, so it is not an error (etcd still loading a new CRD's storage, 429
# "storage is (re)initializing", 503 while aggregated APIs register, refused connections).
TRANSIENT = (
    "storage is (re)initializing",
    "TooManyRequests",
    "ServiceUnavailable",
    "status=503",
    "status=429",
    "Connection refused",
    "ClientConnectorError",
    "ServerDisconnectedError",
)


class RetriedRequestFilter(logging.Filter):
    """Kopf logs every retried request at ERROR. A retry is not a failure: known transient
    start-up states become INFO, other retried attempts WARNING; the last attempt
    ("escalating") stays ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        if (
            record.levelno == logging.ERROR
            and record.name.startswith("kopf.")
            and message.startswith("Request attempt")
            and "; will retry:" in message
        ):
            level = logging.INFO if any(mark in message for mark in TRANSIENT) else logging.WARNING
            record.levelno, record.levelname = level, logging.getLevelName(level)
        return True


def short_body_repr(body: Any) -> str:
    """A Kopf Body as its kind and name. Kopf formats each changed or resumed object into a
    DEBUG line before it knows the level is off: the whole body, about 0.9 ms of the event
    loop at 255 KB and 5 ms at 1 MB, for a line nobody sees below --verbose."""
    meta = body.get("metadata") or {}
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"<{body.get('kind')} {where}{meta.get('name')} generation={meta.get('generation')}>"


def configure(verbose: bool) -> None:
    # The CEL interpreter logs every step at DEBUG: gigabytes for one costly rule, even when
    # debugging the operator.
    logging.getLogger("celpy").setLevel(logging.WARNING)
    # Kopf's adapters log through this one logger object: its class decides per call.
    logging.getLogger("kopf.objects").__class__ = ObjectLogger if verbose else QuietObjectLogger
    if not verbose:
        bodies.Body.__repr__ = short_body_repr  # type: ignore[method-assign]
    # On the output handlers: Kopf logs from many module loggers, and a logger's own
    # filters do not see its children's records.
    for handler in logging.getLogger().handlers:
        handler.addFilter(RetriedRequestFilter())
