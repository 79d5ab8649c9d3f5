"""Operator logging: what an operator of thousands of flows wants to read."""

from __future__ import annotations

import logging


class HandlerSuccessFilter(logging.Filter):
    """Drops Kopf's "Handler 'x' succeeded." line, written per handler per watch event.

    With thousands of flows it is most of the log and a tenth of the event loop's time;
    the "... is processed" summary per change and every failure are still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not (record.levelno == logging.INFO and message.startswith("Handler '") and message.endswith("' succeeded."))


def configure(verbose: bool) -> None:
    if not verbose:
        logging.getLogger("kopf.objects").addFilter(HandlerSuccessFilter())
