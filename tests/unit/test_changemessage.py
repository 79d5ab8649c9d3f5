"""Version messages from change-cause annotations, and GitOps appliers (table tests)."""

import pytest

from flowops.domain import changemessage
from flowops.domain.commit import VersionRecord


def v(number: int, cause: str | None, origin: str = "Commit") -> VersionRecord:
    return VersionRecord(
        name=f"f-{number}", id=f"{number:020d}", number=number, content_hash=f"h{number}", origin=origin, change_cause=cause
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "cause,versions,expected",
    [
        ("German title", [], "German title"),
        ("German title", [v(1, "initial")], "German title"),
        ("German title", [v(1, "initial"), v(2, "German title")], "content changed; change-cause unchanged since version 2"),
        ("German title", [v(1, "German title"), v(2, "German title")], "content changed; change-cause unchanged since version 1"),
        (
            "German title",
            [v(1, "German title"), v(2, "other"), v(3, "German title")],
            "content changed; change-cause unchanged since version 3",
        ),
        ("  German title ", [v(1, "German title")], "content changed; change-cause unchanged since version 1"),
        (None, [v(1, "initial")], ""),
        ("", [v(1, "")], ""),
        # Versions from before causes were recorded: the cause is taken at its word.
        ("German title", [v(1, None)], "German title"),
        # A quarantined copy is not part of the edit history.
        ("x", [v(1, "y"), v(2, "x", origin="Quarantine")], "x"),
        ("x", [v(1, "x"), v(2, None, origin="Promotion")], "x"),
    ],
)
def test_message(cause, versions, expected):
    assert changemessage.message(cause, versions) == expected


@pytest.mark.parametrize(
    "metadata,expected",
    [
        ({}, None),
        (
            {"labels": {"kustomize.toolkit.fluxcd.io/name": "fleet", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
            {"tool": "Flux", "source": "Kustomization flux-system/fleet"},
        ),
        ({"labels": {"kustomize.toolkit.fluxcd.io/name": "fleet"}}, {"tool": "Flux", "source": "Kustomization fleet"}),
        (
            {"annotations": {"argocd.argoproj.io/tracking-id": "flows:flowops.io/Flow:dev/standard"}},
            {"tool": "ArgoCD", "source": "Application flows"},
        ),
        (
            {"annotations": {"argocd.argoproj.io/tracking-id": "team-a_flows:flowops.io/Flow:dev/standard"}},
            {"tool": "ArgoCD", "source": "Application team-a/flows"},
        ),
        ({"labels": {"argocd.argoproj.io/instance": "flows"}}, {"tool": "ArgoCD", "source": "Application flows"}),
        ({"labels": {"app.kubernetes.io/instance": "flows"}}, None),
    ],
)
def test_applied_by(metadata, expected):
    flux = {"flowops.io/changed-by": "system:serviceaccount:flux-system:kustomize-controller"}
    stamped = {**metadata, "annotations": {**(metadata.get("annotations") or {}), **flux}}
    assert changemessage.applied_by(stamped) == expected


@pytest.mark.parametrize(
    "writer",
    [
        None,
        "",
        "alice",
        "system:admin",
        "oidc:system:serviceaccount:x:y",
        # In the Flow's own namespace: the built-in edit role there can act as any of them.
        "system:serviceaccount:development:ci-runner",
        # Not where the Kustomization runs: Flux applies as a ServiceAccount of its namespace.
        "system:serviceaccount:team-a:applier",
        "system:serviceaccount::applier",
    ],
)
def test_tracking_labels_name_a_tool_only_for_its_own_service_account(writer):
    """Anyone who may edit a Flow can write Flux's or Argo CD's labels: believed only when
    the API server recorded, as the last writer, a ServiceAccount the tool could run as."""
    labels = {"kustomize.toolkit.fluxcd.io/name": "fleet", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}
    annotations = {"flowops.io/changed-by": writer} if writer is not None else {}
    metadata = {"namespace": "development", "labels": labels, "annotations": annotations}
    assert changemessage.applied_by(metadata) is None
    assert changemessage.changed_by(metadata) == (writer or None)


@pytest.mark.parametrize(
    ("writer", "expected"),
    [
        ("system:serviceaccount:argocd:argocd-application-controller", {"tool": "ArgoCD", "source": "Application flows"}),
        ("system:serviceaccount:development:argocd-sync", None),
        ("alice", None),
    ],
)
def test_argo_cd_tracking_counts_from_a_service_account_outside_the_flows_namespace(writer, expected):
    metadata = {
        "namespace": "development",
        "annotations": {"flowops.io/changed-by": writer, "argocd.argoproj.io/tracking-id": "flows:flowops.io/Flow:dev/x"},
    }
    assert changemessage.applied_by(metadata) == expected
