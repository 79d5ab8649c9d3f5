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
    assert changemessage.applied_by(metadata) == expected
