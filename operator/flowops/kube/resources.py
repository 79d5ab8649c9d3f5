"""The resources flowops reads and writes."""

from __future__ import annotations

from dataclasses import dataclass

API_GROUP = "flowops.io"
API_VERSION = "v1alpha1"


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


def _flowops(plural: str, kind: str, namespaced: bool = True) -> Resource:
    return Resource(API_GROUP, API_VERSION, plural, kind, namespaced)


ENVIRONMENTS = _flowops("environments", "Environment", namespaced=False)
FLOWS = _flowops("flows", "Flow")
FLOWVERSIONS = _flowops("flowversions", "FlowVersion")
PROMOTIONS = _flowops("promotions", "Promotion")
APPLICATIONS = _flowops("applications", "Application")
APICLIENTS = _flowops("apiclients", "ApiClient")
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
EVENTS = Resource("", "v1", "events", "Event")
SUBJECTACCESSREVIEWS = Resource("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", namespaced=False)
