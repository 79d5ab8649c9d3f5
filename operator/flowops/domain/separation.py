"""Separation of duties: the rights by which the requester and the approver of a Promotion
could be one person under two names. The admission policies (manifests/policy/promotions.yaml)
ask the same routes; tests/unit/test_separation_routes.py keeps the two lists the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Route:
    """One RBAC right (a SubjectAccessReview's resourceAttributes) that lets its holder act as
    an identity. `named`: asked about that one account by name, else namespace-wide."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    named: bool = False
    how: str = ""

    def words(self, namespace: str, name: str) -> str:
        """The right as the API path names it: `create pods/exec in namespace ci`,
        `create serviceaccounts/release-bot/token in namespace ci`, `impersonate users/alice`."""
        path = self.resource + (f"/{name}" if self.named else "") + (f"/{self.subresource}" if self.subresource else "")
        return f"{self.verb} {path}" + (f" in namespace {namespace}" if namespace else "")


# Impersonation, as the API server authorizes it: the legacy verb, and the constrained
# impersonation mode (beta, on by default since Kubernetes 1.36) for that kind of identity.
IMPERSONATE_SERVICE_ACCOUNT = (
    Route("impersonate", "", "serviceaccounts", named=True, how="impersonate it"),
    Route("impersonate:serviceaccount", "", "serviceaccounts", named=True, how="impersonate it"),
)
IMPERSONATE_USER = (
    Route("impersonate", "", "users", named=True, how="impersonate them"),
    Route("impersonate:user-info", "", "users", named=True, how="impersonate them"),
)

# Who may create or change these in a namespace runs pods there, as any of its
# ServiceAccounts (a new serviceAccountName, or a new image under the same one).
POD_CREATORS = (
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)
WORKLOAD_VERBS = ("create", "update", "patch")

_TOKEN = "create its tokens"
_SECRETS = "read its token from a legacy token Secret"
_MOUNTED = "a pod running as it, where its token is mounted"
_RUN_POD = "run a pod as it"

# Who holds one of these in a ServiceAccount's namespace can act as that ServiceAccount.
SERVICE_ACCOUNT_ROUTES: tuple[Route, ...] = (
    *IMPERSONATE_SERVICE_ACCOUNT,
    Route("create", "", "serviceaccounts", "token", named=True, how=_TOKEN),
    # The token controller fills a kubernetes.io/service-account-token Secret for the account it names.
    Route("create", "", "secrets", how=f"{_TOKEN}; the token controller fills a service-account-token Secret"),
    # A watch streams every Secret in the namespace, data included, as list does.
    Route("get", "", "secrets", how=_SECRETS),
    Route("list", "", "secrets", how=_SECRETS),
    Route("watch", "", "secrets", how=_SECRETS),
    # kubectl exec and attach ask create; clients that upgrade a GET to a WebSocket ask get.
    Route("create", "", "pods", "exec", how=f"exec into {_MOUNTED}"),
    Route("get", "", "pods", "exec", how=f"exec into {_MOUNTED}"),
    Route("create", "", "pods", "attach", how=f"attach to {_MOUNTED}"),
    Route("get", "", "pods", "attach", how=f"attach to {_MOUNTED}"),
    Route("update", "", "pods", "ephemeralcontainers", how=f"add a container to {_MOUNTED}"),
    Route("patch", "", "pods", "ephemeralcontainers", how=f"add a container to {_MOUNTED}"),
    *(Route(verb, group, resource, how=_RUN_POD) for group, resource in POD_CREATORS for verb in WORKLOAD_VERBS),
)


def service_account(username: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount's username, else None."""
    parts = username.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and parts[2] and parts[3]:
        return parts[2], parts[3]
    return None


@dataclass(frozen=True)
class Question:
    """May `asker` (the approver or the requester) use `route` to act as `subject`?"""

    asker: Literal["approver", "requester"]
    subject: str
    route: Route
    namespace: str = ""

    @property
    def name(self) -> str:
        account = service_account(self.subject)
        return account[1] if account else self.subject

    def attributes(self) -> dict[str, str]:
        """The SubjectAccessReview's resourceAttributes."""
        attributes = {"verb": self.route.verb, "group": self.route.group, "resource": self.route.resource}
        if self.route.subresource:
            attributes["subresource"] = self.route.subresource
        if self.namespace:
            attributes["namespace"] = self.namespace
        if self.route.named:
            attributes["name"] = self.name
        return attributes

    def words(self) -> str:
        return self.route.words(self.namespace, self.name)


def _acting_as(asker: Literal["approver", "requester"], subject: str, routes_if_account: tuple[Route, ...]) -> list[Question]:
    account = service_account(subject)
    if account is None:
        return [Question(asker, subject, route) for route in IMPERSONATE_USER]
    return [Question(asker, subject, route, account[0]) for route in routes_if_account]


def questions(requester: str, approver: str) -> list[Question]:
    """Every way the two could be one person, in the order to ask: the approver acting as
    the requester (who could then have requested alone), then the requester impersonating
    the approver (who could then have approved alone)."""
    if not requester or not approver or requester == approver:  # the same name is refused without asking
        return []
    return [
        *_acting_as("approver", requester, SERVICE_ACCOUNT_ROUTES),
        *_acting_as("requester", approver, IMPERSONATE_SERVICE_ACCOUNT),
    ]


def _identity(username: str) -> str:
    return f"ServiceAccount {username}, which" if service_account(username) else f"{username}, who"


def refusal(question: Question, requester: str, approver: str, environment: str) -> str:
    """Why the approval does not count, naming the right that joins the two and the fix."""
    if question.asker == "approver":
        joined = (
            f"{approver} can act as {_identity(requester)} requested this Promotion "
            f"({approver} may {question.words()}: {question.route.how})"
        )
        holder = approver
    else:
        joined = (
            f"{_identity(requester)} requested this Promotion, can act as {approver}, who approved it "
            f"({requester} may {question.words()}: {question.route.how}), so the approval may be the requester's own"
        )
        holder = requester
    return (
        f"{joined}; separation of duties in environment {environment}: the approval does not count. Remove that "
        f"right from {holder}, or have another person with the approve permission and no such right approve; "
        "nothing was written"
    )
