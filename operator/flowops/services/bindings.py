"""Fan-outs: re-resolve the ApiClients and Applications an event touches, sharing reads.

The reconcilers themselves are `bindings_clients` and `bindings_applications`; what a
fan-out reads once is `bindings_reads`; how reconciles run side by side is
`bindings_concurrency`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..domain import values
from ..kube import ENVIRONMENTS, NotFound
from ..runtime import Runtime
from . import bindings_concurrency as concurrency
from .bindings_applications import reconcile_application
from .bindings_clients import ClientOutcome, StatusWrites, reconcile_client
from .bindings_reads import Reads
from .bindings_resolve import Poster, no_events
from .common import rfc3339
from .environmentaudit import writer
from .statuswrite import patch_over

log = logging.getLogger(__name__)

# From this many clients on, a fan-out lists clients and ConfigMaps instead of GETting each.
SNAPSHOT_MIN_CLIENTS = 4


def reresolve_clients(
    rt: Runtime, namespace: str, names: Iterable[str], env: Mapping[str, Any] | None, post: Poster = no_events
) -> dict[str, ClientOutcome]:
    """Re-resolve each named client, several at a time, sharing the reads; one failing
    client does not stop the others (its own handler, or the next event, retries it).
    Returns the outcome of each client that was reconciled.

    Every client's ConfigMap is written before any client's status: applications read the
    ConfigMaps, and with both writes per client the last ConfigMap of a large fan-out
    would wait behind all but one of the status writes."""
    reads = Reads(rt.kube, rt.bindings)
    todo = sorted(set(names))
    if len(todo) >= SNAPSHOT_MIN_CLIENTS:
        reads.take_snapshot(namespace)
    outcomes: dict[str, ClientOutcome] = {}
    status_writes: StatusWrites | None = [] if len(todo) > 1 else None

    def reconcile(name: str) -> None:
        outcome = reconcile_client(rt, namespace, name, env, post, reads, status_writes=status_writes)
        if outcome is not None:
            outcomes[name] = outcome

    def one(name: str) -> None:
        concurrency.with_retries(lambda: reconcile(name), f"re-resolving ApiClient {namespace}/{name}")

    concurrency.run_all(todo, one)
    if status_writes:
        concurrency.run_all(
            status_writes, lambda write: concurrency.with_retries(write, f"writing an ApiClient's status in {namespace}")
        )
    return outcomes


def rerender_for_values(
    rt: Runtime, env: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], post: Poster = no_events
) -> None:
    """A change of the Environment's values: re-render the clients (index entries) whose
    ConfigMaps used a changed value, then say on the Environment what was re-rendered."""
    spec = env.get("spec") or {}
    env_values = spec.get("values") or {}
    changed = sorted({name for entry in entries for name in values.changed_names(entry.get("values"), env_values)})
    outcomes = reresolve_clients(rt, spec["namespace"], [e["name"] for e in entries], env, post)
    rewritten = sorted(name for name, outcome in outcomes.items() if outcome.rewritten)
    if not rewritten:
        return
    flows = sorted({str(outcomes[name].status.get("flow")) for name in rewritten})
    record = {"time": rfc3339(rt.clock()), "values": changed, "flows": flows, "clients": rewritten}
    _record_rendered(rt, env, record)
    what = f"value(s) {', '.join(changed)} changed" if changed else "values changed"
    post(
        env,
        "Normal",
        "ValuesRendered",
        (
            f"{what}: re-rendered flow(s) {', '.join(flows)} in namespace {spec['namespace']} "
            f"for ApiClient(s) {', '.join(rewritten)}; no FlowVersion was created (spec changed by {writer(env)})"
        ),
    )


def _record_rendered(rt: Runtime, env: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    """`record` onto the Environment only while its values are those rendered: a process
    acting late on an older change of them must not put its record back over the newer
    one's. Refused, the newer change's own re-render records itself."""
    try:
        if patch_over(rt.kube, ENVIRONMENTS, env, {"valuesRendered": record}, ("/spec/values",)):
            return
    except NotFound:
        return
    log.info("environment %s changed since its values were rendered: the newer change records its own", env["metadata"]["name"])


def reresolve_applications(
    rt: Runtime,
    namespace: str,
    clients: Mapping[str, Callable[[], int]],
    env: Mapping[str, Any] | None,
    post: Poster = no_events,
) -> None:
    """Refresh the status of each named Application (name → how to count its clients)."""
    for name, count in sorted(clients.items()):
        concurrency.with_retries(
            functools.partial(reconcile_application, rt, namespace, name, env, count, post),
            f"refreshing Application {namespace}/{name}",
        )
