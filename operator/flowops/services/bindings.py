"""Fan-outs: re-resolve the ApiClients and Applications an event touches, sharing reads.

The reconcilers themselves are `bindings_clients` and `bindings_applications`; what a
fan-out reads once is `bindings_reads`; how reconciles run side by side is
`bindings_concurrency`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from ..runtime import Runtime
from . import bindings_concurrency as concurrency
from .bindings_applications import reconcile_application
from .bindings_clients import reconcile_client
from .bindings_reads import Reads
from .bindings_resolve import Poster, no_events

# From this many clients on, a fan-out lists clients and ConfigMaps instead of GETting each.
SNAPSHOT_MIN_CLIENTS = 4


def reresolve_clients(rt: Runtime, namespace: str, names: Iterable[str], env: Mapping[str, Any] | None, post: Poster = no_events) -> None:
    """Re-resolve each named client, several at a time, sharing the reads; one failing
    client does not stop the others (its own handler, or the next event, retries it)."""
    reads = Reads(rt.kube)
    todo = sorted(set(names))
    if len(todo) >= SNAPSHOT_MIN_CLIENTS:
        reads.take_snapshot(namespace)

    def one(name: str) -> None:
        concurrency.with_retries(lambda: reconcile_client(rt, namespace, name, env, post, reads), f"re-resolving ApiClient {namespace}/{name}")

    concurrency.run_all(todo, one)


def reresolve_applications(rt: Runtime, namespace: str, clients: Mapping[str, int], env: Mapping[str, Any] | None,
                           post: Poster = no_events) -> None:
    """Refresh the status of each named Application (name → its number of clients)."""
    for name, count in sorted(clients.items()):
        concurrency.with_retries(functools.partial(reconcile_application, rt, namespace, name, env, count, post), f"refreshing Application {namespace}/{name}")
