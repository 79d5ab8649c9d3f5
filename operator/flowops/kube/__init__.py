"""A thin, typed Kubernetes client for flowops' resources (JSON in, JSON out)."""

from .client import AlreadyExists, ApiError, Conflict, Forbidden, Invalid, Kube, NamespaceTerminating, NotFound
from .resources import (
    API_GROUP,
    API_VERSION,
    APICLIENTS,
    APPLICATIONS,
    CONFIGMAPS,
    ENVIRONMENTS,
    EVENTS,
    FLOWS,
    FLOWVERSIONS,
    NAMESPACES,
    PROMOTIONS,
    Resource,
)

__all__ = [
    "API_GROUP",
    "API_VERSION",
    "APICLIENTS",
    "APPLICATIONS",
    "AlreadyExists",
    "ApiError",
    "CONFIGMAPS",
    "Conflict",
    "ENVIRONMENTS",
    "EVENTS",
    "FLOWS",
    "FLOWVERSIONS",
    "Forbidden",
    "Invalid",
    "Kube",
    "NamespaceTerminating",
    "NAMESPACES",
    "NotFound",
    "PROMOTIONS",
    "Resource",
]
