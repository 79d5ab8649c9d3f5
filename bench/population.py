"""The flows that the many-flows scenarios share: N small flows in one environment."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from flowops.kube import APICLIENTS, APPLICATIONS, FLOWS
from flowops.testing.waiting import wait_for

from .apicount import api_requests, per_operation
from .documents import flow_object, small_flow
from .harness import Bench
from .versions import VersionTracker

NAMESPACE = "bench-flows"


def flow_name(i: int) -> str:
    return f"flow-{i:05d}"


def names(count: int, start: int = 0) -> list[str]:
    return [flow_name(i) for i in range(start, start + count)]


def apply_flows(
    bench: Bench, namespace: str, flow_names: list[str], content: dict[str, Any], context: str | None = None
) -> float:
    """One `kubectl apply --server-side` of all the flows (as `context`'s user, if given); returns its wall time."""
    items = [flow_object(n, content, namespace) for n in flow_names]
    path = Path(bench.out) / f"apply-{namespace}-{len(items)}.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    try:
        began = time.monotonic()
        # --force-conflicts, as GitOps tools apply: a `kubectl patch` in between made another
        # manager co-own spec.content, and the declared state wins.
        as_user = ("--context", context) if context else ()
        bench.kubectl(*as_user, "apply", "--server-side", "--force-conflicts", "--field-manager=bench", "-f", str(path))
        return time.monotonic() - began
    finally:
        path.unlink(missing_ok=True)


def existing(bench: Bench, namespace: str = NAMESPACE) -> set[str]:
    return {i["metadata"]["name"] for i in bench.kube.list(FLOWS, namespace, metadata_only=True)}


def ensure(bench: Bench, count: int, timeout: float = 900.0) -> list[str]:
    """At least `count` versioned flows in the shared namespace (created now if missing)."""
    bench.environment(NAMESPACE)
    bench.start_operator()
    wanted = names(count)
    present = existing(bench)  # one list: per name it would be quadratic in flows
    missing = [n for n in wanted if n not in present]
    with VersionTracker(bench.kube, NAMESPACE) as tracker:
        if missing:
            bench.log(f"creating {len(missing)} flows in {NAMESPACE}")
            bench.log(f"applied in {apply_flows(bench, NAMESPACE, missing, small_flow()):.1f}s")
        tracker.wait_all(wanted, 1, timeout)
    return wanted


STAGING, PRODUCTION = f"{NAMESPACE}-staging", f"{NAMESPACE}-production"


def ensure_chain(
    bench: Bench, count: int, timeout: float = 900.0, clients: int = 0, application_clients: int = 0
) -> dict[str, Any] | None:
    """The same `count` flows in development (the shared namespace), staging and production,
    each environment the upstream of the next: every resumed flow has a sync report to make.
    Staging and production are protected; their flows are applied as the operator's own
    user (a promotion per flow would only make the set-up slower), so each has one version.
    Each environment gets `clients` ApiClients; the first `application_clients` of them name
    an Application (four to one) that holds their flow and version. Returns how the
    clients created now were bound (None if none were)."""
    began = time.monotonic()
    wanted = ensure(bench, count, timeout)
    bench.log(f"chain: {count} flows in {NAMESPACE} after {time.monotonic() - began:.1f}s")
    bench.environment(STAGING, "Staging", upstream=NAMESPACE)
    bench.environment(PRODUCTION, "Production", upstream=STAGING)
    bench.log(f"chain: environments {STAGING} and {PRODUCTION} after {time.monotonic() - began:.1f}s")
    for namespace in (STAGING, PRODUCTION):
        present = existing(bench, namespace)
        missing = [n for n in wanted if n not in present]
        with VersionTracker(bench.kube, namespace) as tracker:
            if missing:
                bench.log(f"creating {len(missing)} flows in {namespace}")
                applied = apply_flows(bench, namespace, missing, small_flow(), context="flowops-operator")
                bench.log(f"chain: applied in {applied:.1f}s")
            tracker.wait_all(wanted, 1, timeout)
        bench.log(f"chain: {count} flows versioned in {namespace} after {time.monotonic() - began:.1f}s")
    requests_before, created_at = api_requests(bench), time.monotonic()
    created = sum(
        _ensure_clients(bench, namespace, wanted, clients, min(application_clients, clients))
        for namespace in (NAMESPACE, STAGING, PRODUCTION)
    )
    return _clients_bound(bench, created, created_at, requests_before, timeout) if created else None


def _clients_bound(
    bench: Bench, created: int, created_at: float, requests_before: dict[str, float], timeout: float
) -> dict[str, Any]:
    """How long the new clients took to be bound and what the operator asked of the API
    server meanwhile: a burst of clients must not make it read more per client."""
    namespaces = (NAMESPACE, STAGING, PRODUCTION)

    def settled() -> bool:
        objects = [o for ns in namespaces for kind in (APICLIENTS, APPLICATIONS) for o in bench.kube.list(kind, ns)]
        return all((o.get("status") or {}).get("observedGeneration") == o["metadata"].get("generation") for o in objects)

    wait_for(settled, timeout=timeout, interval=1.0, message="every ApiClient and Application reconciled")
    bound = time.monotonic() - created_at
    bench.wait_operator_idle(quiet=3)
    requests = per_operation(requests_before, api_requests(bench), created)
    bench.log(
        f"chain: {created} ApiClients created and bound in {bound:.1f}s; operator requests per client: "
        + ", ".join(f"{k} {v}" for k, v in requests.items())
    )
    return {"clients": created, "bound_s": bound, "requests_per_client": requests}


def _ensure_clients(bench: Bench, namespace: str, wanted: list[str], clients: int, inheriting: int) -> int:
    """Creates the missing ones; returns how many ApiClients it created."""
    # Protected environments refuse HEAD bindings: their clients pin version 1.
    version = "HEAD" if namespace == NAMESPACE else "1"
    present_apps = {a["metadata"]["name"] for a in bench.kube.list(APPLICATIONS, namespace, metadata_only=True)}
    present = {c["metadata"]["name"] for c in bench.kube.list(APICLIENTS, namespace, metadata_only=True)}
    created = 0
    for i in range(clients):
        flow = {"name": wanted[i % len(wanted)], "version": version}
        spec: dict[str, Any] = {"defaultFlow": flow}
        if i < inheriting:
            application = f"app-{i // 4:04d}"
            if application not in present_apps:
                bench.kube.create(APPLICATIONS, _resource("Application", application, {"defaultFlow": flow}), namespace)
                present_apps.add(application)
            spec = {"application": application}
        if f"client-{i:04d}" not in present:
            bench.kube.create(APICLIENTS, _resource("ApiClient", f"client-{i:04d}", spec), namespace)
            created += 1
    return created


def _resource(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "flowops.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}
