"""HEAD propagation: a new HEAD with C ApiClients following it -> all C ConfigMaps updated
[C raw ConfigMap writes of the same data from one client, with as many writers in
parallel as the operator's fan-out uses, until the last arrives on a watch].

The clock starts when the Flow's status shows the new HEAD (the version exists and is
ready) and stops when the last `<client>-flow` ConfigMap carrying it arrives on a watch.
The time from the edit itself is reported too.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flowops.kube import APICLIENTS, CONFIGMAPS, FLOWS
from flowops.services.threads import FAN_OUT_THREADS
from flowops.testing.documents import identity_flow

from ..documents import edit_patch, flow_object, size_of
from ..flowwatch import StatusTracker
from ..harness import Bench
from ..mapwatch import ConfigMapVersions
from ..report import Row
from ..stats import Summary
from . import Params, Result

NAME = "3 propagation"
NAMESPACE = "bench-apps"
RAW_NAMESPACE = "bench-raw-writes"
FLOW = "web-signin"
EDIT_BASE = 3_000_000


def run(bench: Bench, p: Params) -> Result:
    bench.start_operator()
    bench.environment(NAMESPACE, "Development")
    document = identity_flow()
    bench.kube.apply(FLOWS, FLOW, flow_object(FLOW, document, NAMESPACE), NAMESPACE, field_manager="bench")
    clients = [f"client-{i:04d}" for i in range(p.clients)]

    after_head: list[float] = []
    after_edit: list[float] = []
    raw: list[float] = []
    returned: list[float] = []
    bench.namespace(RAW_NAMESPACE)
    maps_of = [f"{name}-flow" for name in clients]
    assert bench.cluster is not None, "started by start_operator"
    with (
        StatusTracker(bench.kube, NAMESPACE) as flows,
        ConfigMapVersions(bench.cluster.kubeconfig, "flowops-admin", [NAMESPACE, RAW_NAMESPACE]) as maps,
    ):
        head = flows.watch.wait(lambda: flows.ready.get(FLOW), p.timeout, f"{FLOW} HEAD")
        for name in clients:
            bench.kube.create(APICLIENTS, _client(name), NAMESPACE)
        maps.wait(lambda: maps.all_at(NAMESPACE, maps_of, head), p.timeout, f"{p.clients} ConfigMaps at the first HEAD")
        _raw_setup(bench, maps_of, document)
        for i in range(p.propagations + 1):  # the first is a warm-up
            bench.wait_operator_idle(quiet=0.5)
            raw_seconds, returned_seconds = _raw_writes(bench, maps_of, document, i, maps, p.timeout)
            bench.wait_operator_idle(quiet=0.5)
            number = flows.created.get(FLOW, 0) + 1
            bench.kube.merge_patch(FLOWS, FLOW, edit_patch(EDIT_BASE + i), NAMESPACE)
            edited = time.monotonic()
            flows.wait_number(FLOW, number, p.timeout)
            previous = head
            head = flows.watch.wait(
                lambda previous=previous: (h := flows.ready.get(FLOW)) != previous and h, p.timeout, "a new HEAD"
            )
            head_at = flows.ready_at[(FLOW, head)]

            def arrived(version: str = str(head)) -> float | None:
                return maps.all_at(NAMESPACE, maps_of, version)

            done = maps.wait(arrived, p.timeout, f"{p.clients} ConfigMaps at HEAD {head}")
            if i:
                after_head.append(done - head_at)
                after_edit.append(done - edited)
                raw.append(raw_seconds)
                returned.append(returned_seconds)
    bench.kubectl("delete", "namespace", RAW_NAMESPACE, "--wait=false")

    ours, from_edit, base, writes = Summary.of(after_head), Summary.of(after_edit), Summary.of(raw), Summary.of(returned)
    bench.log(
        f"propagation: p50 {ours.p50:.2f}s after HEAD ({from_edit.p50:.2f}s after the edit); raw writes p50 {base.p50:.2f}s "
        f"on the watch, {writes.p50:.2f}s returned"
    )
    rows = [
        Row(
            NAME,
            f"new HEAD → {p.clients} ConfigMaps updated, p50 ({p.propagations} HEAD moves)",
            ours.p50,
            "s",
            base.p50,
            f"{p.clients} raw writes p50, {FAN_OUT_THREADS} in parallel, the last seen on a watch",
            "≤ 2× baseline",
            ours.p50 <= 2 * base.p50,
        ),
        Row(NAME, "same, p99", ours.p99, "s", base.p99, f"{p.clients} raw writes p99, the last seen on a watch"),
        Row(
            NAME,
            "same, against the writes returned",
            ours.p50,
            "s",
            writes.p50,
            f"{p.clients} raw writes p50, {FAN_OUT_THREADS} in parallel, the last returned",
        ),
        Row(
            NAME,
            f"edit → {p.clients} ConfigMaps updated, p50",
            from_edit.p50,
            "s",
            base.p50,
            f"{p.clients} raw writes p50, the last seen on a watch",
        ),
    ]
    details = {
        "document_bytes": size_of(document),
        "clients": p.clients,
        "after_head": ours.as_dict(),
        "after_edit": from_edit.as_dict(),
        "raw_writes": base.as_dict(),
        "raw_writes_returned": writes.as_dict(),
        "raw_writers": FAN_OUT_THREADS,
    }
    return rows, details


def _client(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "ApiClient",
        "metadata": {"name": name},
        "spec": {"defaultFlow": {"name": FLOW, "version": "HEAD"}},
    }


def _raw_setup(bench: Bench, names: list[str], document: dict[str, Any]) -> None:
    for name in names:
        bench.kube.create(CONFIGMAPS, _raw_map(name, document, -1), RAW_NAMESPACE)


def _raw_map(name: str, document: dict[str, Any], i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"flow.json": json.dumps(document), "flow": FLOW, "version": str(i)},
    }


def _raw_writes(
    bench: Bench,
    names: list[str],
    document: dict[str, Any],
    i: int,
    maps: ConfigMapVersions,
    timeout: float,
) -> tuple[float, float]:
    """What the operator must at least do: rewrite every ConfigMap with the new document,
    with the same number of writers in parallel as its fan-out. Like the fan-out, the
    bodies are serialised before (the fan-out escapes the document once) and only metadata
    comes back. The clock stops as the operator's does: when the last of them arrives on
    the watch (its own process, decoding every ConfigMap during either). Also returned:
    when the last write returned, the stricter floor."""
    bodies = [json.dumps(_raw_map(name, document, i), separators=(",", ":")).encode() for name in names]
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=FAN_OUT_THREADS) as pool:
        list(
            pool.map(
                lambda nb: bench.kube.replace(CONFIGMAPS, nb[0], nb[1], RAW_NAMESPACE, metadata_only=True),
                zip(names, bodies, strict=True),
            )
        )
    returned = time.monotonic()
    done = maps.wait(lambda: maps.all_at(RAW_NAMESPACE, names, str(i)), timeout, f"{len(names)} raw ConfigMaps at {i}")
    return done - began, returned - began
