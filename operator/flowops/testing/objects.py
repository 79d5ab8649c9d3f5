"""Builders and waits for flowops objects in tests and benchmarks."""

from __future__ import annotations

from typing import Any

from ..kube import FLOWS, PROMOTIONS, Kube
from .waiting import wait_for

API_VERSION = "flowops.io/v1alpha1"


def flow(name: str, content: Any, annotations: dict | None = None, **spec: Any) -> dict:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": API_VERSION, "kind": "Flow", "metadata": meta, "spec": {"content": content, **spec}}


def promotion(name: str, environment: str, source_flow: str, version: str = "HEAD", **spec: Any) -> dict:
    return {
        "apiVersion": API_VERSION, "kind": "Promotion", "metadata": {"name": name},
        "spec": {"source": {"environment": environment, "flow": source_flow, "version": version}, **spec},
    }


def flow_status(kube: Kube, namespace: str, name: str) -> dict:
    return kube.get(FLOWS, name, namespace).get("status") or {}


def wait_for_number(kube: Kube, namespace: str, name: str, number: int, field: str = "latestCreatedNumber", timeout: float = 30) -> dict:
    return wait_for(
        lambda: (s := flow_status(kube, namespace, name)).get(field) == number and s.get("observedGeneration") == kube.get(FLOWS, name, namespace)["metadata"]["generation"] and s,
        timeout=timeout, message=f"{namespace}/{name} {field} == {number}",
    )


def wait_for_phase(kube: Kube, namespace: str, name: str, phases: tuple[str, ...] = ("Succeeded", "Failed"), timeout: float = 60) -> dict:
    return wait_for(
        lambda: (s := kube.get(PROMOTIONS, name, namespace).get("status") or {}).get("phase") in phases and s,
        timeout=timeout, message=f"promotion {namespace}/{name} in {phases}",
    )
