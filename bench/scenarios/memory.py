"""Operator memory: RSS with N flows x V versions; growth per extra flows; no cached bodies.

Versions are made as a GitOps sync makes them: each round is one server-side apply of
every flow with one more edit. The operator must keep no document bodies: RSS may grow
with the number of flows (Kopf keeps a little state per object) but not with document
size x versions. Two checks: RSS while large flows gain versions, against those versions'
documents; and, once idle and after a gc, how many large documents are still alive in the
operator, against what its bounded keyframe cache may hold.
"""

from __future__ import annotations

import re
import signal
from typing import Any

from .. import population
from ..documents import size_of, sized_flow, small_flow
from ..edits import bring_to
from ..harness import Bench, Memory
from ..report import Row
from ..versions import VersionTracker
from . import Params, Result

NAME = "5 memory"
KEYFRAME_CACHE_BYTES = 2 << 20  # the operator's default budget (FLOWOPS_KEYFRAME_CACHE_BYTES)
LARGE_NAMESPACE = "bench-large"
MIB = 1024 * 1024


def run(bench: Bench, p: Params) -> Result:
    bench.start_operator()
    idle = bench.first_idle_memory or _settled(bench)
    flows = population.ensure(bench, p.flows, p.timeout)
    bring_to(bench, population.NAMESPACE, flows, small_flow(), p.versions, p.timeout)
    at_scale = _settled(bench)
    bench.log(f"memory: RSS {at_scale.rss_mib:.1f} MiB at {p.flows} x {p.versions} (idle start {idle.rss_mib:.1f} MiB)")

    extra = population.names(p.extra_flows, start=p.flows)
    _add(bench, population.NAMESPACE, extra, small_flow(), p.timeout)
    bring_to(bench, population.NAMESPACE, extra, small_flow(), p.versions, p.timeout)
    after_small = _settled(bench)
    growth_small = (after_small.rss_mib - at_scale.rss_mib) * 100 / max(1, p.extra_flows)

    large = sized_flow(p.large_bytes)
    bench.environment(LARGE_NAMESPACE)
    large_names = [f"large-{i:04d}" for i in range(p.large_flows)]
    _add(bench, LARGE_NAMESPACE, large_names, large, p.timeout)
    large_first = _settled(bench)
    bring_to(bench, LARGE_NAMESPACE, large_names, large, p.large_versions, p.timeout)
    after_large = _settled(bench)
    growth_large = (large_first.rss_mib - after_small.rss_mib) * 100 / max(1, p.large_flows)
    per_versions = after_large.rss_mib - large_first.rss_mib
    bench.log(
        f"memory: +{growth_small:.1f} MiB per 100 small flows, +{growth_large:.1f} MiB per 100 large flows, "
        f"{per_versions:+.1f} MiB as they went from 1 to {p.large_versions} versions"
    )

    # Not with document size x versions: the large flows' later versions, as documents,
    # against what RSS did meanwhile. A cache of bodies per version would cost 1x or more;
    # the allocator's keeping of each round's burst is noise of a few tenths. The exact
    # check is the count of documents alive.
    new_documents = size_of(large) / MIB * len(large_names) * (p.large_versions - 1)
    held = held_documents(bench)
    catalogues = _catalogues(large)
    documents_alive = held["large_dicts"] / catalogues if held and catalogues else None
    cache_documents = KEYFRAME_CACHE_BYTES // size_of(large)
    rows = [
        Row(
            NAME,
            f"RSS at {p.flows} flows × {p.versions} versions",
            at_scale.rss_mib,
            "MiB",
            idle.rss_mib,
            "the operator idle, before any flow",
            f"≤ 150 MiB at {p.flows} × {p.versions}",
            at_scale.rss_mib <= 150,
            f"peak (VmHWM) {at_scale.peak_mib:.0f} MiB",
        ),
        Row(
            NAME, f"growth per 100 extra flows ({size_of(small_flow()) // 1024} KB × {p.versions} versions)", growth_small, "MiB"
        ),
        Row(
            NAME,
            f"growth per 100 extra flows ({size_of(large) // 1024} KB, first version)",
            growth_large,
            "MiB",
            note=f"peak (VmHWM) {large_first.peak_mib:.0f} MiB: a burst of {len(large_names)} documents in flight, kept by the allocator",
        ),
        Row(
            NAME,
            f"RSS change as {len(large_names)} flows of {size_of(large) // 1024} KB go from 1 to {p.large_versions} versions",
            per_versions,
            "MiB",
            new_documents,
            "those versions' documents",
            "flat in versions: ≤ 0.5× baseline",
            per_versions <= 0.5 * new_documents,
            f"peak (VmHWM) {after_large.peak_mib:.0f} MiB",
        ),
        Row(
            NAME,
            "large documents alive after gc (idle)",
            documents_alive,
            "",
            cache_documents,
            "what the keyframe cache may hold",
            "no cached bodies: ≤ 1× baseline",
            documents_alive is not None and documents_alive <= cache_documents,
            f"{held.get('large_dicts', '?')} catalogue-sized dicts, {catalogues} per document; "
            f"RSS after gc and malloc_trim {held.get('after_trim', '?')} MiB (the rest is memory the allocator keeps)",
        ),
    ]
    details = {
        "rss_mib": {
            "idle": idle.rss_mib,
            "at_scale": at_scale.rss_mib,
            "after_extra_small": after_small.rss_mib,
            "after_extra_large_first_version": large_first.rss_mib,
            "after_extra_large": after_large.rss_mib,
        },
        "peak_mib": after_large.peak_mib,
        "after_large_probe": held,
        "small_document_bytes": size_of(small_flow()),
        "large_document_bytes": size_of(large),
        "flows": p.flows,
        "versions": p.versions,
        "extra_flows": p.extra_flows,
        "large_flows": p.large_flows,
        "large_versions": p.large_versions,
    }
    return rows, details


def _add(bench: Bench, namespace: str, names: list[str], content: dict, timeout: float) -> None:
    with VersionTracker(bench.kube, namespace) as tracker:
        population.apply_flows(bench, namespace, names, content)
        tracker.wait_all(names, 1, timeout)


def held_documents(bench: Bench) -> dict[str, float]:
    """What the operator still holds once idle: RSS after gc and malloc_trim (the rest is
    memory the allocator keeps) and how many large dicts are alive (memory_probe.py)."""
    lines = bench.probe(signal.SIGUSR2, "memory-probe rss=")
    found = re.search(r"after_trim=([0-9.]+).*large_dicts=([0-9]+)", lines[-1]) if lines else None
    return {"after_trim": float(found.group(1)), "large_dicts": int(found.group(2))} if found else {}


def _catalogues(document: Any) -> int:
    """Dicts with over 200 keys in a document: what memory_probe counts as large."""
    if isinstance(document, dict):
        return (len(document) > 200) + sum(_catalogues(v) for v in document.values())
    if isinstance(document, list):
        return sum(_catalogues(v) for v in document)
    return 0


def _settled(bench: Bench) -> Memory:
    """Memory once the operator is idle and Kopf's per-object workers have exited (5 s idle)."""
    bench.wait_operator_idle(quiet=6)
    return bench.memory()
