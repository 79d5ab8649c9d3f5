"""Operator memory: RSS with N flows x V versions; growth per extra flows; flat in document size.

Versions are made as a GitOps sync makes them: each round is one server-side apply of
every flow with one more edit. The operator must keep no document bodies: RSS may grow with the number of flows (Kopf
keeps a little state per object) but not with document size x versions. The growth from
extra large flows is compared with the growth from as many small ones; the target is that
the difference stays under one document per extra flow.
"""

from __future__ import annotations

import re
import signal

from .. import population
from ..documents import size_of, sized_flow, small_flow
from ..edits import bring_to
from ..harness import Bench, Memory
from ..report import Row
from ..versions import VersionTracker
from . import Params, Result

NAME = "5 memory"
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
    bring_to(bench, LARGE_NAMESPACE, large_names, large, p.large_versions, p.timeout)
    after_large = _settled(bench)
    growth_large = (after_large.rss_mib - after_small.rss_mib) * 100 / max(1, p.large_flows)

    # Flat in document size: large flows may cost more than small ones, but less than one
    # retained document each (caching bodies per version would cost many).
    bound = size_of(large) / MIB * 100
    excess = growth_large - growth_small
    bench.log(f"memory: +{growth_small:.1f} MiB per 100 small flows, +{growth_large:.1f} MiB per 100 large flows")
    held = _held_documents(bench)
    rows = [
        Row(NAME, f"RSS at {p.flows} flows × {p.versions} versions", at_scale.rss_mib, "MiB", idle.rss_mib,
            "the operator idle, before any flow", "≤ 150 MiB (stated at 1000 × 20)", at_scale.rss_mib <= 150,
            f"peak (VmHWM) {at_scale.peak_mib:.0f} MiB"),
        Row(NAME, f"growth per 100 extra flows ({size_of(small_flow()) // 1024} KB × {p.versions} versions)", growth_small, "MiB"),
        Row(NAME, f"growth per 100 extra flows ({size_of(large) // 1024} KB × {p.large_versions} versions) beyond the small ones",
            excess, "MiB", bound, "100 documents of that size", "flat: ≤ 1× baseline", excess <= bound,
            f"{growth_large:.1f} MiB in all; peak (VmHWM) {after_large.peak_mib:.0f} MiB; "
            f"after gc and malloc_trim: RSS {held.get('after_trim', '?')} MiB, {held.get('large_dicts', '?')} live catalogue-sized dicts "
            "(a held document shows up as its catalogues; the keyframe cache holds a few by design)"),
    ]
    details = {
        "rss_mib": {"idle": idle.rss_mib, "at_scale": at_scale.rss_mib, "after_extra_small": after_small.rss_mib,
                    "after_extra_large": after_large.rss_mib},
        "peak_mib": after_large.peak_mib,
        "after_large_probe": held,
        "small_document_bytes": size_of(small_flow()), "large_document_bytes": size_of(large),
        "flows": p.flows, "versions": p.versions, "extra_flows": p.extra_flows,
        "large_flows": p.large_flows, "large_versions": p.large_versions,
    }
    return rows, details


def _add(bench: Bench, namespace: str, names: list[str], content: dict, timeout: float) -> None:
    with VersionTracker(bench.kube, namespace) as tracker:
        population.apply_flows(bench, namespace, names, content)
        tracker.wait_all(names, 1, timeout)


def _held_documents(bench: Bench) -> dict[str, float]:
    """What the operator still holds once idle: RSS after gc and malloc_trim (the rest is
    memory the allocator keeps) and how many large dicts are alive (memory_probe.py)."""
    lines = bench.probe(signal.SIGUSR2, "memory-probe rss=")
    found = re.search(r"after_trim=([0-9.]+).*large_dicts=([0-9]+)", lines[-1]) if lines else None
    return {"after_trim": float(found.group(1)), "large_dicts": int(found.group(2))} if found else {}


def _settled(bench: Bench) -> Memory:
    """Memory once the operator is idle and Kopf's per-object workers have exited (5 s idle)."""
    bench.wait_operator_idle(quiet=6)
    return bench.memory()
