"""Loaded by the operator process that the benchmark starts (it puts this directory on PYTHONPATH)."""

import os

if os.environ.get("FLOWOPS_BENCH_PROFILE"):
    import operator_profiler

    operator_profiler.install(os.environ["FLOWOPS_BENCH_PROFILE"])

if os.environ.get("FLOWOPS_BENCH_PROBES"):
    import memory_probe

    memory_probe.install()

if os.environ.get("FLOWOPS_BENCH_TRACE"):
    import request_trace

    request_trace.install(os.environ["FLOWOPS_BENCH_TRACE"])
