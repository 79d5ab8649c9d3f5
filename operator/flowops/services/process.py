"""The operator process's connection: one client, shared with Kopf's own watches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import runtime
from ..kube import ENVIRONMENTS, AlreadyExists, Kube, Resource
from ..names import FIELD_MANAGER
from .threads import WIDEST

PEERINGS = Resource("kopf.dev", "v1", "clusterkopfpeerings", "ClusterKopfPeering", namespaced=False)


# Requests made outside the handler threads: the liveness probe, lookups from the event loop.
OTHER_CALLERS = 4


def pool_size(handler_threads: int) -> int:
    """Connections for every thread that may call at once: each handler thread, and the
    helpers one may start (a fan-out's writers, the widest of them)."""
    return handler_threads * (1 + WIDEST) + OTHER_CALLERS


def connect(
    kubeconfig: str | None,
    context: str | None,
    peering: str | None,
    indexes: Mapping[str, Any] | None = None,
    handler_threads: int = 8,
) -> runtime.Runtime:
    """The process's client (in-cluster, else the kubeconfig); installs it as the runtime,
    with Kopf's `indexes` (live views) for the services that read them."""
    kube = Kube.from_kubeconfig(kubeconfig, context, field_manager=FIELD_MANAGER, pool_size=pool_size(handler_threads))
    rt = runtime.install(runtime.Runtime(kube=kube, indexes=dict(indexes or {})))
    if peering:
        _ensure_peering_object(rt.kube, peering)
    return rt


def _ensure_peering_object(kube: Kube, name: str) -> None:
    # Replicas meet in this object; it cannot ship beside its CRD in one apply.
    body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name}}
    try:
        kube.create(PEERINGS, body)
    except AlreadyExists:
        pass


def credentials(rt: runtime.Runtime) -> dict[str, Any]:
    """Kopf's connection, taken from the same configuration as our client: one identity."""
    configuration = rt.kube.configuration
    api_key = configuration.api_key or {}
    credential: str | None = api_key.get("authorization") or api_key.get("BearerToken")
    scheme, _separator, token = credential.partition(" ") if credential and " " in credential else ("Bearer", "", credential)
    return {
        "server": configuration.host,
        "ca_path": configuration.ssl_ca_cert,
        "insecure": not configuration.verify_ssl,
        "scheme": scheme if token else None,
        "token": token or None,
        "certificate_path": configuration.cert_file,
        "private_key_path": configuration.key_file,
    }


def api_reachable(rt: runtime.Runtime) -> bool:
    # Liveness fails if the operator cannot list its own resources any more.
    rt.kube.request("GET", ENVIRONMENTS.path(), query={"limit": 1})
    return True
