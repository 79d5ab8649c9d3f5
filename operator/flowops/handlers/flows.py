"""Flow: commit content changes as versions; publish HEAD, status and sync."""

from __future__ import annotations

from typing import Any

import kopf

from .. import runtime
from ..kube import API_GROUP, API_VERSION
from ..services import environments, flows, sync
from .events import post
from .indexes import all_values, environment_named, environment_of_namespace, first

FLOW = (API_GROUP, API_VERSION, "flows")


@kopf.on.resume(*FLOW, backoff=2)
@kopf.on.create(*FLOW, backoff=2)
@kopf.on.update(*FLOW, backoff=2)
def reconcile_flow(
    body: kopf.Body, name: str, namespace: str, status: kopf.Status,
    environments_by_namespace: kopf.Index, environments_by_name: kopf.Index, flow_sync_by_namespace: kopf.Index, **_: Any,
) -> None:
    rt = runtime.current()
    env = environment_of_namespace(environments_by_namespace, namespace)
    flows.reconcile(rt, body, env, post=post)
    _publish_sync(rt, name, namespace, env, status.get("sync"), environments_by_name, flow_sync_by_namespace)


@kopf.on.event(*FLOW)
def flow_event(type: str, name: str, namespace: str, environments_by_namespace: kopf.Index,
               environments_by_name: kopf.Index, flow_sync_by_namespace: kopf.Index, **_: Any) -> None:
    rt = runtime.current()
    env = first(environments_by_namespace, namespace)  # every event: no API fallback here
    if type == "DELETED":
        # Downstream flows compare against this one: tell them it is gone.
        _publish_downstream(rt, name, env, environments_by_name, flow_sync_by_namespace)
    if env is not None:
        # The indexes already hold this event: counts cost no API call unless they changed.
        counts = environments.counts(list(flow_sync_by_namespace.get(namespace, ())))
        known = (first(environments_by_name, env["metadata"]["name"]) or {}).get("counts")
        if known is not None and tuple(known) != counts:
            environments.publish_counts(rt, env["metadata"]["name"], counts)


def _publish_sync(rt: runtime.Runtime, name: str, namespace: str, env: Any, current: Any,
                  environments_by_name: kopf.Index, flow_sync_by_namespace: kopf.Index) -> None:
    by_name = lambda env_name: environment_named(environments_by_name, env_name)  # noqa: E731
    sync.publish(rt.kube, namespace, name, env, by_name, current)
    _publish_downstream(rt, name, env, environments_by_name, flow_sync_by_namespace)


def _publish_downstream(rt: runtime.Runtime, name: str, env: Any, environments_by_name: kopf.Index,
                        flow_sync_by_namespace: kopf.Index) -> None:
    if env is None:
        return
    by_name = lambda env_name: environment_named(environments_by_name, env_name)  # noqa: E731
    for down in sync.downstream_of(env["metadata"]["name"], all_values(environments_by_name)):
        down_ns = down["spec"]["namespace"]
        present = {flow_name: state for flow_name, state in flow_sync_by_namespace.get(down_ns, ())}
        if name in present:
            sync.publish(rt.kube, down_ns, name, down, by_name, present[name])
