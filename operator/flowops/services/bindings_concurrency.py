"""How binding reconciles run side by side: one at a time per object, a process-wide
sequence that tells a fan-out's snapshot whether a client was reconciled after it, a
small thread pool for fan-outs, and retries for event handlers (Kopf does not retry
those)."""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from ..keyedlocks import KeyedLocks
from .common import RetryLater
from .flowreaders import FlowReaders
from .promotionwaiters import PromotionWaiters
from .threads import FAN_OUT_THREADS

log = logging.getLogger(__name__)

T = TypeVar("T")


class BindingState:
    """This process's coordination of binding reconciles; one per Runtime.

    One reconcile per object at a time: a client's own handler and a fan-out from its
    Flow or Application may run together in the handler thread pool (an entry lives only
    while its lock is used). And when each client's last reconcile ended, on a sequence:
    a snapshot listed before that may not show what the reconcile wrote. Oldest first; an
    entry older than any snapshot can be (fan-outs last seconds) says nothing any more and
    is dropped, so deleted clients do not stay here for good."""

    def __init__(self) -> None:
        self._locks = KeyedLocks()
        self._sequence = itertools.count()
        self._reconciled: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        self._reconciled_guard = threading.Lock()
        self._resume: dict[str, tuple[float, Any]] = {}
        self._resume_guard = threading.Lock()
        self._rules: dict[str, str | None] = {}
        self._rules_guard = threading.Lock()
        self._application_clients: dict[tuple[str, str], tuple[int, float]] = {}
        self._client_applications: dict[tuple[str, str], str] = {}
        self.flow_readers = FlowReaders()
        self.promotion_waiters = PromotionWaiters()

    def resume_snapshot(self, namespace: str, take: Callable[[int], Any], now: Callable[[], float] = time.monotonic) -> Any:
        """One snapshot per namespace for the clients a restart resumes together, taken by
        the first (the others wait for it rather than list too) and retaken once older than
        RESUME_SNAPSHOT_TTL. `take(sequence)` lists after that sequence number."""
        with self._resume_guard:
            entry = self._resume.get(namespace)
            if entry is None or now() - entry[0] > RESUME_SNAPSHOT_TTL:
                entry = (now(), take(self.next_sequence()))
                self._resume[namespace] = entry
            return entry[1]

    def fresh_resume_snapshot(self, namespace: str, now: Callable[[], float] = time.monotonic) -> Any | None:
        """The namespace's resume snapshot if one is taken and not older than RESUME_SNAPSHOT_TTL.
        Without the guard, which is held while a snapshot is listed: the event loop asks this,
        and one dict lookup is atomic."""
        entry = self._resume.get(namespace)
        return entry[1] if entry is not None and now() - entry[0] <= RESUME_SNAPSHOT_TTL else None

    def rules_changed(self, namespace: str, digest: str | None) -> bool:
        """Whether the namespace's Environment records other rules (status.guardrailsDigest)
        than when last seen here. False the first time: at start-up, resumed clients judge
        their pins themselves."""
        with self._rules_guard:
            if namespace not in self._rules:
                self._rules[namespace] = digest
                return False
            before, self._rules[namespace] = self._rules[namespace], digest
            return before != digest

    def forget_rules(self, namespace: str) -> None:
        with self._rules_guard:
            self._rules.pop(namespace, None)

    def wrote_application_clients(
        self, namespace: str, name: str, clients: int, now: Callable[[], float] = time.monotonic
    ) -> None:
        """An Application's status.clients as this process last wrote or found it."""
        self._application_clients[(namespace, name)] = (clients, now())

    def application_clients_pending(
        self, namespace: str, name: str, clients: int, now: Callable[[], float] = time.monotonic
    ) -> bool:
        """Whether this count was written here so lately that the Application index may not
        show it yet: every client event meanwhile would write it again. Past
        APPLICATION_CLIENTS_TTL the index is believed (another process may have written since)."""
        entry = self._application_clients.get((namespace, name))
        return entry is not None and entry[0] == clients and now() - entry[1] <= APPLICATION_CLIENTS_TTL

    def forget_application(self, namespace: str, name: str) -> None:
        self._application_clients.pop((namespace, name), None)

    def client_seen_under(self, namespace: str, client: str, application: str | None) -> str | None:
        """Records the Application a client event names (None: the client is gone) and
        returns the one it named before, if another: a move changes both counts. Only the
        event loop calls this."""
        key = (namespace, client)
        before = self._client_applications.pop(key, None)
        if application:
            self._client_applications[key] = application
        return before if before != application else None

    def lock(self, kind: str, namespace: str, name: str) -> AbstractContextManager[None]:
        return self._locks.hold((kind, namespace, name))

    def next_sequence(self) -> int:
        return next(self._sequence)

    def mark_reconciled(self, namespace: str, client: str, now: Callable[[], float] = time.monotonic) -> None:
        moment = now()
        self.flow_readers.ended(namespace, client, now)
        with self._reconciled_guard:
            self._reconciled.pop((namespace, client), None)
            self._reconciled[(namespace, client)] = (next(self._sequence), moment)
            while self._reconciled:
                key, (_, when) = next(iter(self._reconciled.items()))
                if moment - when <= RECONCILED_TTL:
                    break
                del self._reconciled[key]

    def last_reconciled(self, namespace: str, client: str) -> int | None:
        with self._reconciled_guard:
            entry = self._reconciled.get((namespace, client))
        return entry[0] if entry else None


RECONCILED_TTL = 600.0
APPLICATION_CLIENTS_TTL = 30.0
RESUME_SNAPSHOT_TTL = 30.0


def with_retries(
    call: Callable[[], object],
    what: str,
    attempts: int = 3,
    delay: float = 0.5,
    later_attempts: int = 8,
    later_delay: float = 5.0,
) -> None:
    """Event handlers are not retried by Kopf: retry transient API errors here, then log.
    RetryLater (a refusal known to pass, e.g. admission starting after an API server
    restart, up to 30 s) is retried longer: no later event would retry it."""
    failures = 0
    while True:
        try:
            call()
            return
        except RetryLater as later:
            failures += 1
            if failures >= later_attempts:
                log.warning("%s was refused %d times (%s); the next event retries it", what, failures, later)
                return
            log.info("%s: %s; retrying in %g s", what, later, later_delay)
            time.sleep(later_delay)
        except Exception:  # noqa: BLE001 - one failing object must not stop the fan-out
            failures += 1
            if failures >= attempts:
                log.exception("%s failed %d times; the next event retries it", what, failures)
                return
            time.sleep(delay * failures)


def run_all(items: Iterable[T], one: Callable[[T], None]) -> None:
    """`one(item)` for each item, several at a time when there are several."""
    todo = list(items)
    if len(todo) <= 1:
        for item in todo:
            one(item)
        return
    # Kopf's poster reads its queue from context variables: each worker runs in a copy.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=min(FAN_OUT_THREADS, len(todo)), thread_name_prefix="fan-out") as pool:
        list(pool.map(lambda item: context.copy().run(one, item), todo))
