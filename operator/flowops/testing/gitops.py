"""A git repository synced by Flux into the cluster, for tests and benchmarks.

`FluxSync` owns one bare repository on the git server, its GitRepository and its
Kustomization (applied as a named ServiceAccount, never as the controller itself).
`push()` commits the working copy, asks Flux to reconcile now (the
`reconcile.fluxcd.io/requestedAt` annotation, as `flux reconcile --with-source` does) and
returns the commit, so a test waits for that exact revision.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..devcluster.flux import NAMESPACE
from ..devcluster.gitserver import Checkout, GitServer
from ..kube import Kube
from ..kube.resources import Resource
from .waiting import wait_until

GITREPOSITORIES = Resource("source.toolkit.fluxcd.io", "v1", "gitrepositories", "GitRepository")
KUSTOMIZATIONS = Resource("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "Kustomization")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")
ROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"


def condition(obj: Mapping[str, Any] | None, kind: str) -> Mapping[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def applier_username(service_account: str, namespace: str = NAMESPACE) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def grant(kube: Kube, service_account: str, namespace: str, cluster_role: str, sa_namespace: str = NAMESPACE) -> None:
    """A namespace-scoped RoleBinding of a shipped ClusterRole, as a platform team grants it."""
    name = f"{service_account}-{cluster_role}"
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": sa_namespace}],
    }
    kube.apply(ROLEBINDINGS, name, body, namespace)


def ensure_service_account(kube: Kube, name: str, namespace: str = NAMESPACE) -> None:
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
    kube.apply(SERVICEACCOUNTS, name, body, namespace)


class FluxSync:
    def __init__(
        self,
        kube: Kube,
        git: GitServer,
        workdir: Path,
        service_account: str,
        name: str | None = None,
        namespace: str = NAMESPACE,
        interval: str = "10m",
        timeout: str = "10m",
        wait: bool = True,
    ) -> None:
        self.kube, self.namespace, self.service_account = kube, namespace, service_account
        self.name = name or f"fleet-{uuid.uuid4().hex[:6]}"
        self.url = git.create(self.name)
        self.checkout = Checkout(self.url, Path(workdir) / self.name)
        self.interval, self.timeout, self.wait = interval, timeout, wait
        self.last_commit = ""

    # -- the repository -------------------------------------------------------------------
    def write(self, relative: str, *documents: Mapping[str, Any]) -> None:
        self.checkout.write(relative, yaml.safe_dump_all([dict(d) for d in documents], sort_keys=False))

    def remove(self, relative: str) -> None:
        self.checkout.remove(relative)

    def commit(self, message: str) -> str:
        self.last_commit = self.checkout.commit_and_push(message)
        return self.last_commit

    def push(self, message: str) -> str:
        """Commit, push, and ask Flux to reconcile now; returns the commit SHA."""
        sha = self.commit(message)
        if not self._installed():
            self._install()
        else:
            self.request_reconcile()
        return sha

    # -- Flux objects -----------------------------------------------------------------------
    def _installed(self) -> bool:
        return self.kube.get_or_none(KUSTOMIZATIONS, self.name, self.namespace) is not None

    def _install(self) -> None:
        repository = {
            "apiVersion": GITREPOSITORIES.api_version,
            "kind": GITREPOSITORIES.kind,
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {"interval": self.interval, "url": self.url, "ref": {"branch": self.checkout.branch}},
        }
        kustomization = {
            "apiVersion": KUSTOMIZATIONS.api_version,
            "kind": KUSTOMIZATIONS.kind,
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "interval": self.interval,
                "timeout": self.timeout,
                "path": "./",
                "prune": True,
                "wait": self.wait,
                "sourceRef": {"kind": "GitRepository", "name": self.name},
                "serviceAccountName": self.service_account,
            },
        }
        self.kube.create(GITREPOSITORIES, repository, self.namespace)
        self.kube.create(KUSTOMIZATIONS, kustomization, self.namespace)

    def request_reconcile(self) -> str:
        """Asks both objects to reconcile now; returns the token Flux echoes in
        status.lastHandledReconcileAt once it has."""
        now = dt.datetime.now(dt.UTC).isoformat()
        for resource in (GITREPOSITORIES, KUSTOMIZATIONS):
            self.kube.merge_patch(resource, self.name, {"metadata": {"annotations": {REQUESTED_AT: now}}}, self.namespace)
        return now

    def kustomization(self) -> dict[str, Any]:
        return self.kube.get(KUSTOMIZATIONS, self.name, self.namespace)

    def delete(self) -> None:
        for resource in (KUSTOMIZATIONS, GITREPOSITORIES):
            if self.kube.get_or_none(resource, self.name, self.namespace) is not None:
                self.kube.delete(resource, self.name, self.namespace)

    # -- outcomes -------------------------------------------------------------------------
    def _revision_matches(self, revision: str | None, sha: str) -> bool:
        return bool(revision) and str(revision).endswith(sha)

    def outcome(self, sha: str | None = None) -> tuple[str, str] | None:
        """(Ready status, message) once Flux finished with commit `sha`, else None. A failed
        attempt keeps Reconciling=True with reason ProgressingWithRetry (Flux retries it),
        so that counts as finished too."""
        sha = sha or self.last_commit
        obj = self.kube.get_or_none(KUSTOMIZATIONS, self.name, self.namespace)
        status = (obj or {}).get("status") or {}
        ready, reconciling = condition(obj, "Ready"), condition(obj, "Reconciling")
        if ready.get("status") == "True":
            if reconciling.get("status") == "True" or not self._revision_matches(status.get("lastAppliedRevision"), sha):
                return None
            return "True", ready.get("message", "")
        if ready.get("status") != "False":
            return None
        attempted = self._revision_matches(status.get("lastAttemptedRevision"), sha) or sha in reconciling.get("message", "")
        retrying = reconciling.get("status") != "True" or reconciling.get("reason") == "ProgressingWithRetry"
        return ("False", ready.get("message", "")) if attempted and retrying else None

    def wait_outcome(self, sha: str | None = None, timeout: float = 90.0) -> tuple[str, str]:
        finished = wait_until(
            lambda: self.outcome(sha),
            lambda outcome: outcome is not None,
            timeout=timeout,
            interval=0.2,
            message=f"Flux to finish {self.name} at {sha or self.last_commit}",
            shown=lambda _: json.dumps(self._brief()),  # read at the end of the wait, not its start
        )
        assert finished is not None
        return finished

    def wait_ready(self, sha: str | None = None, timeout: float = 90.0) -> str:
        status, message = self.wait_outcome(sha, timeout)
        assert status == "True", f"Kustomization {self.name} not Ready: {message}"
        return message

    def reconcile_outcome(self, timeout: float = 90.0) -> tuple[str, str]:
        """Asks for a reconcile of the same commit and returns its outcome once Flux has
        handled that very request: the earlier attempt's outcome stays readable meanwhile."""
        token = self.request_reconcile()
        finished = wait_until(
            lambda: (self.kustomization().get("status") or {}).get("lastHandledReconcileAt") == token and self.outcome(),
            bool,
            timeout=timeout,
            interval=0.2,
            message=f"Flux to handle reconcile {token} of {self.name}",
            shown=lambda _: json.dumps(self._brief()),
        )
        assert finished
        return finished

    def reconcile_ready(self, timeout: float = 90.0) -> None:
        """Asks for a reconcile of the same commit and waits until Flux has handled that very
        request and is Ready (an earlier failure of the same commit does not count)."""
        token = self.request_reconcile()
        wait_until(
            self.kustomization,
            lambda k: (
                (k.get("status") or {}).get("lastHandledReconcileAt") == token and condition(k, "Ready").get("status") == "True"
            ),
            timeout=timeout,
            interval=0.2,
            message=f"Flux to handle reconcile {token} of {self.name} and be Ready",
            shown=lambda k: json.dumps(self._brief(k)),
        )

    def _brief(self, obj: Mapping[str, Any] | None = None) -> Any:
        """The Kustomization's status without its inventory (read now unless given)."""
        if obj is None:
            obj = self.kube.get_or_none(KUSTOMIZATIONS, self.name, self.namespace) or {}
        return {k: v for k, v in (obj.get("status") or {}).items() if k != "inventory"}
