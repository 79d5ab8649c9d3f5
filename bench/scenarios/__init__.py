"""The scenarios, in the order a full run executes them (later ones reuse earlier state)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..harness import Bench
from ..report import Row


@dataclass(frozen=True)
class Params:
    flows: int = 1000
    changes: int = 200
    clients: int = 200
    # The memory figure is at 20 versions (--versions 20); 5 keeps a run under 20 minutes.
    versions: int = 5
    extra_flows: int = 100
    large_flows: int = 100
    large_versions: int = 3
    promotions: int = 20
    propagations: int = 5
    storage_versions: int = 100
    pushes: int = 20
    large_bytes: int = 250_000
    # ApiClients following HEAD in each environment of the restart chain (the scale run: 200).
    chain_clients: int = 0
    # Of those, how many inherit their flow and version from an Application (four to one).
    application_clients: int = 0
    # Restarts measured on one population (the median is reported): the set-up dominates a run.
    restarts: int = 1
    # Finished Promotions present at the restart (0: not measured): history must not slow it.
    finished_promotions: int = 0
    timeout: float = 900.0


Result = tuple[list[Row], dict[str, Any]]
Runner = Callable[[Bench, Params], Result]


NAMES = ("guardrails", "diff", "fanout", "commit", "memory", "restart", "storage", "promotion", "propagation")
# Run only when named with --only: gitops needs more than the control plane (`make flux`);
# rules measures a guardrails change over history, apiserver what an API server restart
# costs the operator (both reported, no target).
OPTIONAL = ("gitops", "rules", "apiserver")


def runner(name: str) -> Runner:
    """Each scenario is the module of its name; imported only when it runs."""
    return importlib.import_module(f"{__package__}.{name}").run
