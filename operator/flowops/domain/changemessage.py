"""The message and the applier a new version records, from the Flow's metadata.

In git the `flowops.io/change-cause` annotation is written once and rarely touched again,
so it repeats on every later edit. A cause that did not change since the previous version
describes that version, not this edit: the new version says so instead of repeating it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import names
from .commit import VersionRecord
from .tracking import ARGOCD_INSTANCE, ARGOCD_TRACKING, FLUX_NAME, FLUX_NAMESPACE


def message(change_cause: str | None, versions: Sequence[VersionRecord]) -> str:
    """The message of a new Commit version. `versions` are the flow's versions so far."""
    cause = (change_cause or "").strip()
    history = sorted((v for v in versions if v.origin != "Quarantine"), key=lambda v: v.number)
    if not cause or not history or history[-1].change_cause != cause:
        return cause
    since = history[-1].number
    for version in reversed(history):
        if version.change_cause != cause:
            break
        since = version.number
    return f"content changed; change-cause unchanged since version {since}"


def changed_by(metadata: Mapping[str, Any]) -> str | None:
    """Who last wrote the object, as the API server recorded it (flowops-flow-changed-by)."""
    return (metadata.get("annotations") or {}).get(names.ANN_CHANGED_BY) or None


def applied_by(metadata: Mapping[str, Any]) -> dict[str, str] | None:
    """Which GitOps tool applied the object, from the tracking metadata it stamps. Anyone
    who may edit the object can write those labels: they are believed only when the API
    server recorded, as the last writer of its spec, a ServiceAccount of another namespace
    (in the object's own, the built-in edit role can act as any ServiceAccount) and, for
    Flux, of its Kustomization's namespace (where it runs as the Kustomization says)."""
    writer_namespace = _service_account_namespace(changed_by(metadata))
    if writer_namespace is None or writer_namespace == metadata.get("namespace"):
        return None
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    if name := labels.get(FLUX_NAME):
        namespace = labels.get(FLUX_NAMESPACE)
        if namespace and namespace != writer_namespace:
            return None
        return {"tool": "Flux", "source": f"Kustomization {namespace}/{name}" if namespace else f"Kustomization {name}"}
    tracking = annotations.get(ARGOCD_TRACKING)
    if tracking:
        # "<application>:<group>/<kind>:<namespace>/<name>"; the application may be "<namespace>_<name>".
        application = tracking.split(":", 1)[0].replace("_", "/", 1)
        return {"tool": "ArgoCD", "source": f"Application {application}"}
    if labels.get(ARGOCD_INSTANCE):
        return {"tool": "ArgoCD", "source": f"Application {labels[ARGOCD_INSTANCE]}"}
    return None


def _service_account_namespace(username: str | None) -> str | None:
    parts = (username or "").split(":")
    return parts[2] if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and parts[2] else None


def describe(applier: Mapping[str, str] | None) -> str:
    return f"applied by {applier['tool']} ({applier['source']})" if applier else ""
