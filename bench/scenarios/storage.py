"""Storage: bytes in etcd for V versions of a large flow with small edits [V full copies
as Flow objects (what a user storing copies pays); V gzip-compressed full copies; and, per
version, the size of the change itself (the floor)].

Read from etcd itself (its v3 JSON gateway): the sum of the stored values of every
FlowVersion key of the flow's namespace.
"""

from __future__ import annotations

import copy
import gzip
from typing import Any

from flowops.domain.canonical import canonical_json
from flowops.domain.diff import diff
from flowops.domain.patch import to_ops
from flowops.kube import FLOWS

from ..documents import drift_patch, size_of, sized_flow
from ..flowwatch import StatusTracker
from ..harness import Bench
from ..report import Row
from . import Params, Result

NAME = "7 storage"
NAMESPACE = "bench-storage"
FLOW = "large-signin"


def run(bench: Bench, p: Params) -> Result:
    bench.start_operator()
    bench.environment(NAMESPACE)
    document = sized_flow(p.large_bytes)
    body = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Flow",
        "metadata": {"name": FLOW, "namespace": NAMESPACE},
        # Keep every version: retention is not what this measures.
        "spec": {"content": document, "versioning": {"historyLimit": max(100, p.storage_versions)}},
    }
    with StatusTracker(bench.kube, NAMESPACE) as tracker:
        bench.kube.apply(FLOWS, FLOW, body, NAMESPACE, field_manager="bench")
        tracker.wait_number(FLOW, 1, p.timeout)
        for n in range(2, p.storage_versions + 1):
            bench.kube.merge_patch(FLOWS, FLOW, drift_patch(document, n), NAMESPACE)
            tracker.wait_number(FLOW, n, p.timeout)
    bench.wait_operator_idle()

    versions = bench.etcd_values(f"/registry/flowops.io/flowversions/{NAMESPACE}/")
    flow_key = f"/registry/flowops.io/flows/{NAMESPACE}/{FLOW}"
    flow_bytes = bench.etcd_values(flow_key)[flow_key]
    stored = sum(versions.values())
    baseline = p.storage_versions * flow_bytes
    ratio = stored / baseline
    gzipped, change = _compressed_copies_and_changes(document, p.storage_versions)
    per_version = stored / max(1, len(versions))
    bench.log(
        f"storage: {len(versions)} versions take {stored:,} bytes in etcd; {p.storage_versions} full copies {baseline:,}; "
        f"gzip-compressed copies {gzipped:,}; {per_version:,.0f} bytes per version for changes of {change:,.0f} bytes"
    )
    rows = [
        Row(
            NAME,
            f"etcd bytes, {len(versions)} versions of a {size_of(document) // 1024} KB flow",
            stored,
            "bytes",
            baseline,
            f"{p.storage_versions} copies of the Flow object",
            "≤ 10 % of baseline",
            ratio <= 0.10,
        ),
        Row(
            NAME,
            "same, against compressed copies",
            stored,
            "bytes",
            gzipped,
            f"{p.storage_versions} gzip-compressed full copies (document only)",
            "reported (no target)",
        ),
        Row(
            NAME,
            "bytes per version against the change itself",
            per_version,
            "B",
            change,
            "JSON Patch of one edit (mean)",
            "reported (no target)",
            note="a FlowVersion's metadata, labels and keyframe share dominate a one-text change",
        ),
    ]
    largest = sorted(versions.values(), reverse=True)[:3]
    details = {
        "document_bytes": size_of(document),
        "versions": len(versions),
        "etcd_bytes": stored,
        "flow_object_bytes": flow_bytes,
        "baseline_bytes": baseline,
        "gzip_copies_bytes": gzipped,
        "bytes_per_version": per_version,
        "change_bytes_mean": change,
        "largest_version_values": largest,
        "median_version_value": sorted(versions.values())[len(versions) // 2] if versions else 0,
    }
    return rows, details


def _compressed_copies_and_changes(document: dict[str, Any], count: int) -> tuple[int, float]:
    """Bytes of `count` gzip-compressed copies of the versions' documents, and the mean
    size of one edit as a JSON Patch: the same edits the scenario makes."""
    doc = copy.deepcopy(document)
    gzipped, changes = len(gzip.compress(canonical_json(doc), mtime=0)), []
    for n in range(2, count + 1):
        before = copy.deepcopy(doc["translations"])
        for locale, texts in drift_patch(document, n)["spec"]["content"]["translations"].items():
            doc["translations"][locale].update(texts)
        changes.append(len(canonical_json(to_ops(diff(before, doc["translations"], "/translations")))))
        gzipped += len(gzip.compress(canonical_json(doc), mtime=0))
    return gzipped, sum(changes) / max(1, len(changes))
