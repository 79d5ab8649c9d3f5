"""What the binding handlers hand to a fan-out, recorded instead of run: for unit tests of
which clients and Applications an event reaches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from .. import runtime
from ..handlers import bindings as binding_handlers
from ..runtime import Runtime


@dataclass
class Reached:
    runtime: Runtime
    clients: list[str] = field(default_factory=list)
    applications: list[str] = field(default_factory=list)


def record_fan_outs(monkeypatch: pytest.MonkeyPatch) -> Reached:
    """A fresh Runtime for the handlers, and every fan-out they start recorded, not run."""
    reached = Reached(Runtime(kube=None))  # type: ignore[arg-type]
    monkeypatch.setattr(runtime, "current", lambda: reached.runtime)

    def record(namespace: str, clients: list[str], apps: list[str], *_: Any) -> None:
        reached.clients.extend(clients)
        reached.applications.extend(apps)

    monkeypatch.setattr(binding_handlers, "_reresolve", record)
    return reached
