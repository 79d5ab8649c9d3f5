"""The operator's health endpoint asked as a kubelet asks it, while something is measured.

One request at a time, once a second, each allowed the Deployment's probe timeout
(manifests/deploy/deployment.yaml). Kopf answers from a cache younger than 10 s, else it
runs the probes first (the API probe lists Environments): the slowest answer is the one a
liveness probe would have waited for.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from flowops.testing.operatorproc import OperatorProcess

PROBE_TIMEOUT = 5.0
PERIOD = 1.0


class LivenessWatch:
    def __init__(self, operator: OperatorProcess) -> None:
        self.operator = operator
        self.answers: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveness-watch", daemon=True)

    def __enter__(self) -> LivenessWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def slowest(self) -> float:
        return max(self.answers, default=0.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            ok = self.operator.healthy(timeout=PROBE_TIMEOUT)
            elapsed = time.monotonic() - began
            self.answers.append(elapsed)
            self.failures += 0 if ok else 1
            self._stop.wait(max(0.0, PERIOD - elapsed))
