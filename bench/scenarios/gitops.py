"""GitOps latency: `git push` of a dev edit -> the FlowVersion exists -> the Kustomization is Ready.

Real Flux controllers (source-controller, kustomize-controller) and a smart-HTTP git
server on loopback. Each push is followed at once by a reconcile request (the
`reconcile.fluxcd.io/requestedAt` annotation, as `flux reconcile --with-source` does);
the clock starts before `git push`. The baseline, interleaved so both see the same load,
is Flux applying a plain ConfigMap change from a second repository: the same path through
git, source-controller and kustomize-controller, without flowops. Both Kustomizations wait
for health (`wait: true`), so Ready includes kstatus reading the applied objects.

Not in the default run (it needs `make flux` and adds minutes): `make bench BENCH_ARGS='--only gitops'`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flowops import names
from flowops.devcluster.flux import Flux
from flowops.devcluster.gitserver import GitServer
from flowops.kube import CONFIGMAPS, FLOWVERSIONS, Kube, Resource
from flowops.testing.admission import SUBJECT_ACCESS_REVIEWS
from flowops.testing.gitops import FluxSync, ensure_service_account, grant

from ..harness import Bench
from ..report import Row
from ..stats import Summary
from . import Params, Result

NAME = "gitops"
NAMESPACE = "bench-gitops"
RAW_NAMESPACE = "bench-gitops-raw"
APPLIER = "bench-applier"
RAW_WRITER = "bench-configmap-writer"
CLUSTERROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False)
WARMUP = 2
POLL = 0.05


def _flow(i: int) -> dict:
    return {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Flow",
        "metadata": {"name": "login", "namespace": NAMESPACE},
        "spec": {"content": {"title": f"Sign in #{i}", "fields": {"email": {"type": "email"}}}},
    }


def _configmap(i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "login", "namespace": RAW_NAMESPACE},
        "data": {"title": f"Sign in #{i}"},
    }


def _until(predicate: Callable[[], bool], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("GitOps benchmark: Flux did not get there in time")
        time.sleep(POLL)
    return time.monotonic()


def _allowed(kube: Kube, namespace: str, group: str, resource: str) -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": f"system:serviceaccount:flux-system:{APPLIER}",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:flux-system", "system:authenticated"],
            "resourceAttributes": {"group": group, "resource": resource, "verb": "patch", "namespace": namespace},
        },
    }
    return bool(kube.create(SUBJECT_ACCESS_REVIEWS, review).get("status", {}).get("allowed"))


def _push(repo: FluxSync, path: str, body: dict, timeout: float, applied: Callable[[], bool]) -> tuple[float, float]:
    """(seconds to the object applied, seconds to the Kustomization Ready at this commit)."""
    repo.write(path, body)
    began = time.monotonic()
    sha = repo.push(f"edit {path}")
    seen = _until(applied, timeout)
    ready = _until(lambda: (repo.outcome(sha) or ("", ""))[0] == "True", timeout)
    return seen - began, ready - began


def run(bench: Bench, p: Params) -> Result:
    assert bench.cluster is not None
    bench.start_operator()
    bench.environment(NAMESPACE)
    bench.namespace(RAW_NAMESPACE)
    kube = bench.kube
    workdir = Path(tempfile.mkdtemp(prefix="flowops-bench-gitops-"))
    flux = Flux(bench.cluster, bench.logs / "flux")
    flux.start()  # creates flux-system, where the applier's ServiceAccount lives
    try:
        ensure_service_account(kube, APPLIER)
        grant(kube, APPLIER, NAMESPACE, "flowops-editor")
        # The baseline's writer: ConfigMaps only (the built-in edit role is aggregated by a
        # controller this control plane does not run).
        kube.apply(
            CLUSTERROLES,
            RAW_WRITER,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": RAW_WRITER},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["configmaps"],
                        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
                    }
                ],
            },
        )
        grant(kube, APPLIER, RAW_NAMESPACE, RAW_WRITER)
        # RBAC applies a new binding (and the aggregated edit role) a moment later; a first
        # apply refused meanwhile would wait out Flux's interval.
        for namespace, group, resource in ((NAMESPACE, "flowops.io", "flows"), (RAW_NAMESPACE, "", "configmaps")):
            _until(lambda n=namespace, g=group, r=resource: _allowed(kube, n, g, r), p.timeout)
        with GitServer(workdir / "git") as git:
            flows = FluxSync(kube, git, workdir, APPLIER, name="bench-flows")
            raw = FluxSync(kube, git, workdir, APPLIER, name="bench-raw")
            version_at: list[float] = []
            ready_at: list[float] = []
            raw_applied: list[float] = []
            raw_ready: list[float] = []
            for i in range(WARMUP + p.pushes):
                number = i + 1

                # FlowVersion `number` exists: listed by label, metadata only.
                def version_exists(number: int = number) -> bool:
                    items = kube.list(
                        FLOWVERSIONS,
                        NAMESPACE,
                        label_selector=f"{names.LABEL_FLOW}=login,{names.LABEL_NUMBER}={number}",
                        metadata_only=True,
                    )
                    return bool(items)

                def configmap_updated(i: int = i) -> bool:
                    cm = kube.get_or_none(CONFIGMAPS, "login", RAW_NAMESPACE)
                    return cm is not None and (cm.get("data") or {}).get("title") == f"Sign in #{i}"

                v, r = _push(flows, "login.yaml", _flow(i), p.timeout, version_exists)
                bv, br = _push(raw, "login.yaml", _configmap(i), p.timeout, configmap_updated)
                if i >= WARMUP:
                    version_at.append(v)
                    ready_at.append(r)
                    raw_applied.append(bv)
                    raw_ready.append(br)
    finally:
        flux.stop()

    version, ready = Summary.of(version_at), Summary.of(ready_at)
    base_applied, base_ready = Summary.of(raw_applied), Summary.of(raw_ready)
    bench.log(
        f"gitops: push→version p50 {version.p50:.2f}s, push→Ready p50 {ready.p50:.2f}s; "
        f"ConfigMap push→applied p50 {base_applied.p50:.2f}s, →Ready p50 {base_ready.p50:.2f}s"
    )
    count = len(version_at)
    rows = [
        Row(
            NAME,
            f"git push → FlowVersion exists p50 ({count} pushes)",
            version.p50,
            "s",
            base_applied.p50,
            "ConfigMap push → applied p50",
        ),
        Row(NAME, "git push → FlowVersion exists p99", version.p99, "s", base_applied.p99, "ConfigMap push → applied p99"),
        Row(NAME, "git push → Kustomization Ready p50", ready.p50, "s", base_ready.p50, "ConfigMap push → Ready p50"),
        Row(NAME, "git push → Kustomization Ready p99", ready.p99, "s", base_ready.p99, "ConfigMap push → Ready p99"),
    ]
    details = {
        "version": version.as_dict(),
        "ready": ready.as_dict(),
        "configmap_applied": base_applied.as_dict(),
        "configmap_ready": base_ready.as_dict(),
        "warmup": WARMUP,
    }
    return rows, details
