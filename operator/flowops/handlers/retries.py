"""A retry after another writer moved an object first is ordinary: said at INFO, unless it keeps happening."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from ..logs import EXPECTED_RETRIES
from ..services.common import Poster

# Retries in a row said at INFO; from then on at WARNING, and once in a Warning Event.
QUIET_RETRIES = 3


def retry_shortly(reason: Exception, retry: int, delay: float, body: Mapping[str, Any], post: Poster) -> kopf.TemporaryError:
    """Kopf's TemporaryError for `reason`, its line at INFO for the first QUIET_RETRIES
    retries in a row (nothing for anyone to do), at WARNING after that. The first of those
    is also a Warning Event on the object: Kopf's log lines reach no Event, and `kubectl
    describe` is where a stuck object is looked at. `retry`: Kopf's count of this handler's
    retries so far."""
    quiet = retry < QUIET_RETRIES
    EXPECTED_RETRIES.expect(str(reason), logging.INFO if quiet else logging.WARNING)
    if retry == QUIET_RETRIES:
        post(body, "Warning", "Retrying", f"{reason} (retried {retry} times in a row, every {delay:g} s)")
    return kopf.TemporaryError(str(reason), delay=delay)
