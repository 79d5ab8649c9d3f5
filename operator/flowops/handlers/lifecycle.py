"""Start-up, login and health of the operator process."""

from __future__ import annotations

import os
from typing import Any

import kopf

from .. import runtime, settings as operator_settings
from ..names import FIELD_MANAGER
from ..kube import ENVIRONMENTS, AlreadyExists, Kube, Resource

PEERINGS = Resource("kopf.dev", "v1", "clusterkopfpeerings", "ClusterKopfPeering", namespaced=False)


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any) -> None:
    operator_settings.configure(settings)
    kube = Kube.from_kubeconfig(os.environ.get("KUBECONFIG"), os.environ.get("FLOWOPS_CONTEXT"), field_manager=FIELD_MANAGER)
    runtime.install(runtime.Runtime(kube=kube))
    logger.info("flowops operator connected to %s", kube.configuration.host)
    if peering := os.environ.get("FLOWOPS_PEERING_NAME"):
        _ensure_peering_object(kube, peering)


def _ensure_peering_object(kube: Kube, name: str) -> None:
    # Replicas meet in this object; it cannot ship beside its CRD in one apply.
    body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": name}}
    try:
        kube.create(PEERINGS, body)
    except AlreadyExists:
        pass


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    configuration = runtime.current().kube.configuration
    token = (configuration.api_key or {}).get("authorization") or (configuration.api_key or {}).get("BearerToken")
    scheme, _, token = (token or "").partition(" ") if token and " " in token else ("Bearer", "", token)
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        scheme=scheme if token else None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )


@kopf.on.probe(id="api")
def api_reachable(**_: Any) -> bool:
    # Liveness fails if the operator cannot list its own resources any more.
    runtime.current().kube.request("GET", ENVIRONMENTS.path(), query={"limit": 1})
    return True
