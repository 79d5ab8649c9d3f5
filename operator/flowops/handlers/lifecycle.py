"""Start-up, login and health of the operator process."""

from __future__ import annotations

import os
from typing import Any

import kopf

from .. import runtime, settings as operator_settings
from ..kube import ENVIRONMENTS, Kube


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any) -> None:
    operator_settings.configure(settings)
    kube = Kube.from_kubeconfig(os.environ.get("KUBECONFIG"), os.environ.get("FLOWOPS_CONTEXT"))
    runtime.install(runtime.Runtime(kube=kube))
    logger.info("flowops operator connected to %s", kube.configuration.host)


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
