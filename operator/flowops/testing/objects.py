"""Builders and waits for flowops objects in tests and benchmarks."""

from __future__ import annotations

from typing import Any

from .. import settings
from ..kube import FLOWS, PROMOTIONS, Kube
from .waiting import wait_for, wait_until

API_VERSION = "flowops.io/v1alpha1"

# spec.policy.promotion for tests about promotion mechanics rather than governance: promote
# now, HEAD allowed, no second person. (Protected environments default to the opposite.)
PROMOTE_NOW = {"requireReview": False, "separationOfDuties": False, "allowHeadSource": True}


def listed_version(flow_name: str, number: int, owner_uid: str, digest: str, version_id: str) -> dict:
    """A ready FlowVersion as a metadata list shows it: what HEAD and sync reports read."""
    labels = {
        "flowops.io/flow": flow_name,
        "flowops.io/number": str(number),
        "flowops.io/ready": "true",
        "flowops.io/version": version_id,
    }
    return {
        "metadata": {
            "name": f"{flow_name}-{number:05d}",
            "ownerReferences": [{"uid": owner_uid}],
            "labels": labels,
            "annotations": {"flowops.io/content-hash": digest},
        }
    }


def flow(name: str, content: Any, annotations: dict | None = None, **spec: Any) -> dict:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": "Flow", "metadata": meta, "spec": {"content": content, **spec}}


def promotion(name: str, environment: str, source_flow: str, version: str = "HEAD", **spec: Any) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "Promotion",
        "metadata": {"name": name},
        "spec": {"source": {"environment": environment, "flow": source_flow, "version": version}, **spec},
    }


def flow_status(kube: Kube, namespace: str, name: str) -> dict:
    return kube.get(FLOWS, name, namespace).get("status") or {}


def wait_for_number(
    kube: Kube, namespace: str, name: str, number: int, field: str = "latestCreatedNumber", timeout: float = 30
) -> dict:
    """The Flow's status once `field` is `number` and it describes the current generation."""
    observed = wait_until(
        lambda: (flow_status(kube, namespace, name), kube.get(FLOWS, name, namespace)["metadata"]["generation"]),
        lambda seen: seen[0].get(field) == number and seen[0].get("observedGeneration") == seen[1],
        timeout=timeout,
        message=f"{namespace}/{name} {field} == {number}",
        shown=lambda seen: _summary(seen[0]),
    )
    return observed[0]


def _summary(status: dict) -> dict:
    """What a failed wait shows of a Flow's status: its numbers and conditions, not its report."""
    keep = ("observedGeneration", "latestCreatedNumber", "latestReadyNumber", "versionCount", "uncommitted", "conditions")
    return {key: status.get(key) for key in keep}


def wait_for_phase(
    kube: Kube, namespace: str, name: str, phases: tuple[str, ...] = ("Succeeded", "Failed"), timeout: float = 60
) -> dict:
    return wait_for(
        lambda: (s := kube.get(PROMOTIONS, name, namespace).get("status") or {}).get("phase") in phases and s,
        timeout=timeout,
        message=f"promotion {namespace}/{name} in {phases}",
    )


BARRIER_LABEL = "barrier"
LAST_HANDLED = f"{settings.PREFIX}/last-handled"  # Kopf's diff-base, written after each handled change


def barrier(kube: Kube, resource: Any, namespace: str | None, name: str, timeout: float = 30) -> None:
    """Proof that the operator has had its turn at every earlier change of one object, instead
    of sleeping: a later change it must handle (a label), then wait until it has recorded
    handling it (its last-handled annotation carries the label). Kopf handles the changes of
    one object in order, so whatever the earlier ones did is visible by then."""
    import uuid

    token = uuid.uuid4().hex[:12]
    kube.merge_patch(resource, name, {"metadata": {"labels": {BARRIER_LABEL: token}}}, namespace)
    wait_for(
        lambda: token in ((kube.get(resource, name, namespace)["metadata"].get("annotations") or {}).get(LAST_HANDLED) or ""),
        timeout=timeout,
        message=f"the operator to handle the barrier on {name}",
    )
