"""A retry after another writer moved an object first is ordinary: said at INFO, unless it keeps happening."""

from __future__ import annotations

import logging

import kopf

from ..logs import EXPECTED_RETRIES

# Retries in a row said at INFO; from then on at WARNING: it keeps happening.
QUIET_RETRIES = 3


def retry_shortly(reason: Exception, retry: int, delay: float) -> kopf.TemporaryError:
    """Kopf's TemporaryError for `reason`, its line at INFO for the first QUIET_RETRIES
    retries in a row (nothing for anyone to do), at WARNING after that. `retry`: Kopf's
    count of this handler's retries so far."""
    EXPECTED_RETRIES.expect(str(reason), logging.INFO if retry < QUIET_RETRIES else logging.WARNING)
    return kopf.TemporaryError(str(reason), delay=delay)
