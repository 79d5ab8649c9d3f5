"""The labels and annotations by which Flux and Argo CD mark the objects they apply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FLUX_NAME = "kustomize.toolkit.fluxcd.io/name"
FLUX_NAMESPACE = "kustomize.toolkit.fluxcd.io/namespace"
FLUX_HELM_NAME = "helm.toolkit.fluxcd.io/name"
ARGOCD_TRACKING = "argocd.argoproj.io/tracking-id"
# Argo CD's label tracking: its default key, and the key its docs recommend setting instead.
ARGOCD_DEFAULT_INSTANCE = "app.kubernetes.io/instance"
ARGOCD_INSTANCE = "argocd.argoproj.io/instance"

LABELS = (FLUX_NAME, FLUX_HELM_NAME, ARGOCD_DEFAULT_INSTANCE, ARGOCD_INSTANCE)
ANNOTATIONS = (ARGOCD_TRACKING,)


def is_tracked(metadata: Mapping[str, Any]) -> bool:
    """Whether a GitOps tool applied the object (and would apply it again if deleted)."""
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    return any(k in labels for k in LABELS) or any(k in annotations for k in ANNOTATIONS)
