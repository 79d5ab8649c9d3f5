"""Barriers for the API server's admission policies.

Policies read Environments (their params) from an informer: a just-created or just-changed
Environment governs admission a moment later. Tests wait for that instead of sleeping."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes

from ..kube import ENVIRONMENTS, NAMESPACES, ApiError, Kube, Resource
from .waiting import wait_for, wait_until


def refusal(call: Callable[[], Any]) -> str | None:
    """The denial's message, or None when the request was admitted."""
    try:
        call()
    except ApiError as denied:
        return denied.message or str(denied.status)
    return None


def wait_until_governed(kube: Kube, env: Mapping[str, Any], timeout: float = 30) -> None:
    """Until admission knows the Environment: a rival claim on its namespace is refused
    (a dry run: nothing is written)."""
    rival = {
        "apiVersion": env["apiVersion"],
        "kind": "Environment",
        "metadata": {"name": env["metadata"]["name"] + "-probe"},
        "spec": {"namespace": env["spec"]["namespace"], "tier": "Development"},
    }
    wait_for(
        lambda: "already belongs" in (refusal(lambda: kube.create(ENVIRONMENTS, rival, dry_run=True)) or ""),
        timeout=timeout,
        message=f"admission policies to see Environment {env['metadata']['name']}",
    )


# A policy re-bound after its removal was once seen to take over 30 s to refuse again on a
# loaded two-core machine.
def wait_until_refused(call: Callable[[], Any], words: str, timeout: float = 60) -> str:
    """Until a (dry-run) request is refused with `words` in the message: a policy change took effect."""
    refused: str | None = wait_until(
        lambda: refusal(call),
        lambda answer: answer is not None and words in answer,
        timeout=timeout,
        message=f"a refusal saying {words!r}",
        shown=lambda answer: "admitted" if answer is None else answer,
    )
    assert refused is not None
    return refused


def wait_until_admitted(call: Callable[[], Any], timeout: float = 60) -> None:
    wait_for(lambda: refusal(call) is None, timeout=timeout, message="the request to be admitted")


ROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding")
SUBJECT_ACCESS_REVIEWS = Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", namespaced=False)
# What each shipped role grants, as a question to ask the authorizer.
ROLE_PROBES = {
    "flowops-viewer": ("get", "flows"),
    "flowops-editor": ("create", "apiclients"),
    "flowops-promoter": ("create", "promotions"),
    "flowops-approver": ("approve", "promotions"),
    # The built-in roles, through the flowops roles aggregated into them.
    "view": ("get", "flows"),
    "edit": ("create", "flows"),
    "admin": ("create", "promotions"),
}


def bind(kube: Kube, namespace: str, role: str, user: str, timeout: float = 30) -> None:
    """A namespace-scoped grant of a shipped ClusterRole, as a team would get it; returns once
    the authorizer (RBAC's cache, which admission policies ask too) applies it."""
    verb, resource = ROLE_PROBES[role]
    _bind_and_wait(
        kube,
        namespace,
        f"{role}-{user.split(':')[-1]}",
        "ClusterRole",
        role,
        user,
        {"group": "flowops.io", "resource": resource, "verb": verb},
        timeout,
    )


ROLES = Resource("rbac.authorization.k8s.io", "v1", "roles", "Role")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts", "ServiceAccount")


def grant(kube: Kube, namespace: str, user: str, rule: Mapping[str, Any], timeout: float = 30) -> None:
    """One RBAC rule for `user` in `namespace` (a Role and its binding); returns once the
    authorizer applies it (probed with the rule's first verb, resource and subresource)."""
    role = f"grant-{uuid.uuid4().hex[:8]}"
    kube.create(
        ROLES,
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": role}, "rules": [rule]},
        namespace,
    )
    resource, _, subresource = rule["resources"][0].partition("/")
    probe = {"group": rule["apiGroups"][0], "resource": resource, "verb": rule["verbs"][0]}
    if subresource:
        probe["subresource"] = subresource
    _bind_and_wait(kube, namespace, role, "Role", role, user, probe, timeout)


CLUSTERROLES = Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False)
CLUSTERROLEBINDINGS = Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced=False)


def grant_cluster(kube: Kube, user: str, rule: Mapping[str, Any], timeout: float = 30) -> None:
    """One cluster-wide RBAC rule for `user` (a ClusterRole and its binding), for what no
    namespace holds (impersonating users); returns once the authorizer applies it (probed
    with the rule's first verb, resource and resource name)."""
    role = f"grant-{uuid.uuid4().hex[:8]}"
    kube.create(
        CLUSTERROLES,
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": role}, "rules": [rule]},
    )
    probe = {"group": rule["apiGroups"][0], "resource": rule["resources"][0], "verb": rule["verbs"][0]}
    if rule.get("resourceNames"):
        probe["name"] = rule["resourceNames"][0]
    _bind_and_wait(kube, None, role, "ClusterRole", role, user, probe, timeout)


def _bind_and_wait(
    kube: Kube,
    namespace: str | None,
    name: str,
    kind: str,
    role: str,
    user: str,
    probe: Mapping[str, str],
    timeout: float,
) -> None:
    """A RoleBinding of `role` to `user`, once the authorizer allows `probe` in `namespace`
    (no namespace: a ClusterRoleBinding)."""
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    if namespace:
        kube.create(ROLEBINDINGS, binding, namespace)
    else:
        kube.create(CLUSTERROLEBINDINGS, binding)
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "resourceAttributes": {**probe, **({"namespace": namespace} if namespace else {})}},
    }
    wait_for(
        lambda: (kube.create(SUBJECT_ACCESS_REVIEWS, review).get("status") or {}).get("allowed"),
        timeout=timeout,
        message=f"RBAC to grant {user} {role} in {namespace}",
    )


def as_service_account(kube: Kube, namespace: str, name: str) -> Kube:
    """A client authenticated as a new ServiceAccount (its token from the TokenRequest API)."""
    kube.create(SERVICEACCOUNTS, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}, namespace)
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    token = kube.request("POST", f"{SERVICEACCOUNTS.path(namespace, name)}/token", body=request)["status"]["token"]
    configuration = kubernetes.client.Configuration()
    configuration.host = kube.configuration.host
    configuration.ssl_ca_cert = kube.configuration.ssl_ca_cert
    configuration.verify_ssl = kube.configuration.verify_ssl
    configuration.api_key = {"authorization": token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return Kube(configuration)


def refused(call: Callable[[], Any], *words: str) -> str:
    """The API server's denial (403 or 422); every word must be in its message."""
    try:
        call()
    except ApiError as denied:
        message = denied.message
        assert denied.status in (403, 422), message
        for word in words:
            assert word in message, message
        return message
    raise AssertionError(f"the API server accepted what it must refuse (expected: {', '.join(words)})")


def governed_environment(kube: Kube, prefix: str, tier: str, **spec: Any) -> dict[str, Any]:
    """A fresh namespace (labelled as the Environment's) and its Environment, returned once
    admission governs by it."""
    env_name = f"{prefix}-{tier.lower()[:4]}-{uuid.uuid4().hex[:6]}"
    namespace = f"ns-{env_name}"
    labels = {"flowops.io/environment": env_name}
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}})
    body = {
        "apiVersion": ENVIRONMENTS.api_version,
        "kind": "Environment",
        "metadata": {"name": env_name},
        "spec": {"namespace": namespace, "tier": tier, **spec},
    }
    env = kube.create(ENVIRONMENTS, body)
    wait_until_governed(kube, env)
    return env
