"""Types and helpers every service shares: how Events are posted, a reconcile's outcome, time format."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.commit import VersionRecord

log = logging.getLogger(__name__)

# post(body, type, reason, message): how Events reach the object (Kopf's poster in handlers).
Poster = Callable[[Mapping[str, Any], str, str, str], None]


class RetryLater(Exception):
    """A transient condition (e.g. the object changed since it was read): the handler
    retries shortly, from the object as it is then."""


def no_events(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    log.info("%s %s: %s", type_, reason, message)


@dataclass(frozen=True)
class Outcome:
    status: dict[str, Any]
    created: VersionRecord | None
    # The object as this reconcile left it, when known exactly: a later status write of
    # the same reconcile can then be a PUT against it (statuswrite).
    current: Mapping[str, Any] | None = None
    # The object is gone, or going with its namespace: nothing more is to be done for it.
    gone: bool = False


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
