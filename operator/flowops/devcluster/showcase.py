"""`make run`, once the operator is up: promote the sample flow development → staging →
production, pinned by its content hash, and print the web frontend's ConfigMap in each
environment, rendered with that environment's values. Failures are printed, never fatal:
the cluster stays up for the user either way."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import yaml

from ..domain import policy
from ..domain.canonical import content_hash
from ..kube import APICLIENTS, CONFIGMAPS, ENVIRONMENTS, FLOWS, PROMOTIONS, Kube
from ..testing.waiting import wait_for
from .install import SAMPLES

CHAIN = (("development", "flowops-development"), ("staging", "flowops-staging"), ("production", "flowops-production"))
TIMEOUT = 180.0


def sample_pin() -> str:
    with (SAMPLES / "flow-standard.yaml").open(encoding="utf-8") as fh:
        flow = next(d for d in yaml.safe_load_all(fh) if d and d.get("kind") == "Flow")
    return content_hash(flow["spec"]["content"])


def _promote(promoter: Kube, approver: Kube, source: str, target: str, namespace: str, pin: str) -> None:
    """As the promoter; reviewed and approved by a second person when the target requires it."""
    name = f"standard-from-{source}"
    review = policy.require_review(promoter.get(ENVIRONMENTS, target).get("spec"))
    body = {
        "apiVersion": "flowops.io/v1alpha1",
        "kind": "Promotion",
        "metadata": {"name": name},
        "spec": {
            "source": {"environment": source, "flow": "standard", "version": pin},
            "comment": "make run: the sample flow",
            "review": review,
        },
    }
    promoter.create(PROMOTIONS, body, namespace)

    def phase() -> str | None:
        return (promoter.get(PROMOTIONS, name, namespace).get("status") or {}).get("phase") or None

    seen = wait_for(
        lambda: phase() in ("AwaitingApproval", "Succeeded", "Failed") and phase(),
        timeout=TIMEOUT,
        message=f"Promotion {namespace}/{name}",
    )
    if seen == "AwaitingApproval":
        approver.merge_patch(PROMOTIONS, name, {"spec": {"approved": True}}, namespace)
        seen = wait_for(
            lambda: phase() in ("Succeeded", "Failed") and phase(), timeout=TIMEOUT, message=f"Promotion {namespace}/{name}"
        )
    if seen != "Succeeded":
        status = promoter.get(PROMOTIONS, name, namespace).get("status") or {}
        raise RuntimeError(f"Promotion {namespace}/{name} {seen}: {status.get('message')}")


def _rendered(kube: Kube, namespace: str) -> str:
    cm = wait_for(
        lambda: (
            (c := kube.get_or_none(CONFIGMAPS, "web-frontend-flow", namespace)) is not None
            and "values.json" in c.get("data", {})
            and c
        ),
        timeout=TIMEOUT,
        message=f"{namespace}/web-frontend-flow",
    )
    document = json.loads(cm["data"]["flow.json"])
    used = json.loads(cm["data"]["values.json"])
    status = kube.get(APICLIENTS, "web-frontend", namespace).get("status") or {}
    return (
        f"  {namespace}/web-frontend-flow  version {status.get('number')}  login {document['urls']['login']}  "
        f"sender {used.get('senderAddress')}"
    )


def promote_and_show(kubeconfig: Path) -> None:
    try:
        admin = Kube.from_kubeconfig(str(kubeconfig), "flowops-admin")
        promoter = Kube.from_kubeconfig(str(kubeconfig), "flowops-promoter")
        approver = Kube.from_kubeconfig(str(kubeconfig), "flowops-approver")
        pin = sample_pin()
        wait_for(
            lambda: (admin.get(FLOWS, "standard", "flowops-development").get("status") or {}).get("latestReadyVersion"),
            timeout=TIMEOUT,
            message="the sample flow's first version",
        )
        for (source, _), (target, namespace) in zip(CHAIN, CHAIN[1:]):
            _promote(promoter, approver, source, target, namespace, pin)
        lines = [_rendered(admin, namespace) for _, namespace in CHAIN]
        print(
            "\nThe sample flow, promoted unchanged and rendered with each environment's values "
            "(kubectl get configmap web-frontend-flow -n NAMESPACE -o yaml):\n" + "\n".join(lines) + "\n",
            flush=True,
        )
    except Exception as exc:  # noqa: BLE001 - a demo step; the cluster is still usable
        print(f"\nsample promotions did not complete: {exc}\n", flush=True)


def start(kubeconfig: Path) -> threading.Thread:
    thread = threading.Thread(target=promote_and_show, args=(kubeconfig,), name="showcase", daemon=True)
    thread.start()
    return thread
