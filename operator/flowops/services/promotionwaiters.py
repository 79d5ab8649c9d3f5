"""Which bindings may wait on a Promotion, as this process knows it between events.

A binding's status reaches the binding indexes only once written. A binding that asked
which Promotions may bring its missing flow or version just before a new Promotion was
indexed, and whose status the index does not show yet, would be missed by that
Promotion's event: the event also asks here. And a Promotion's many events (each Kopf
progress note is one) reach the waiting bindings only when its phase, the one thing
they show of it, changed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

# Long enough for a written status to reach the binding indexes, which then answer.
ASKED_TTL = 60.0


class PromotionWaiters:
    def __init__(self) -> None:
        self._asked: OrderedDict[tuple[str, str, str, str], float] = OrderedDict()
        self._guard = threading.Lock()
        self._phases: dict[tuple[str, str], str] = {}  # unfinished Promotions only; the event loop's

    def asked(self, namespace: str, flow: str, kind: str, name: str, now: Callable[[], float] = time.monotonic) -> None:
        """Before binding `kind`/`name` reads which Promotions may bring `flow` (or a version of it)."""
        moment = now()
        with self._guard:
            key = (namespace, flow, kind, name)
            self._asked.pop(key, None)
            self._asked[key] = moment
            self._forget_before(moment - ASKED_TTL)

    def recent(self, namespace: str, flow: str, now: Callable[[], float] = time.monotonic) -> list[tuple[str, str]]:
        """(kind, name) of the bindings that asked about `flow` lately."""
        with self._guard:
            self._forget_before(now() - ASKED_TTL)
            return [(kind, name) for (ns, f, kind, name) in self._asked if ns == namespace and f == flow]

    def _forget_before(self, moment: float) -> None:
        while self._asked and next(iter(self._asked.values())) < moment:
            self._asked.popitem(last=False)

    def phase_changed(self, namespace: str, name: str, phase: str | None) -> bool:
        """Whether a Promotion's phase ("" before it has one) differs from the one last seen
        here. None: finished or gone, a change only for one seen unfinished here; one
        never seen so (the history listed at start-up) leaves the bindings to resume on
        their own."""
        key = (namespace, name)
        if phase is None:
            return self._phases.pop(key, None) is not None
        if self._phases.get(key) == phase:
            return False
        self._phases[key] = phase
        return True
