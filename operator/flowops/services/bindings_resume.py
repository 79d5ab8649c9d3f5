"""A restart resumes every ApiClient. One whose status and ConfigMap name its flow's HEAD,
as the Flow watch showed it, has nothing to do: its Flow and version list are not read.
Most are told so from memory by the resume handler's filter, in the event loop, without
a handler thread; anything that cannot be told without an API call goes to the handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..domain import bindingstatus, clientresume, materialise, policy
from ..domain.binding import Resolution, resolve_request
from ..domain.bindingtarget import check_selector
from ..domain.materialise import Fingerprint
from ..runtime import Runtime
from . import flowregistry
from .bindings_reads import Reads
from .common import rfc3339
from .flowregistry import ClientWaiter

# Logged for each client whose resume is told idle from memory (and not run in a thread).
RESUMED_IDLE = "Resumed: its ConfigMap holds what its binding names; nothing to do."


def holds_head(
    rt: Runtime,
    client: Mapping[str, Any],
    request: Resolution,
    held: Fingerprint | None,
    env: Mapping[str, Any] | None,
    from_memory: bool = False,
) -> bool:
    """A restart: its status and ConfigMap name the flow's HEAD as the Flow watch showed it.
    A flow listed but not seen yet is left to its first event (`reresolve_moved`); one not
    there is read as before. `from_memory`: False if the namespace's flows are not listed."""
    if request.name is None or request.version is None or held is None:
        return False
    env_name = ((env or {}).get("metadata") or {}).get("name") or "(none)"
    selector = check_selector(
        request.version, allow_head=policy.allow_head_bindings((env or {}).get("spec")), environment=env_name
    )
    env_values = ((env or {}).get("spec") or {}).get("values") or {}
    status, generation = client.get("status"), client["metadata"].get("generation")
    if not clientresume.holds_head(status, generation, request, selector, held.version, held, env_values):
        return False  # even if what it holds were HEAD
    namespace = client["metadata"]["namespace"]
    if from_memory and not rt.flows.primed(namespace):
        return False
    flowregistry.prime(rt.flows, rt.kube, namespace)  # once per namespace
    known, head = rt.flows.head_or_wait(namespace, request.name, ClientWaiter(client["metadata"]["name"], held.version))
    return known == "awaited" or (
        known == "known" and clientresume.holds_head(status, generation, request, selector, head, held, env_values)
    )


def resumes_idle(
    rt: Runtime,
    client: Mapping[str, Any],
    env: Mapping[str, Any] | None,
    application_spec: Callable[[str], Mapping[str, Any] | None],
) -> bool:
    """Whether resuming this client (`reconcile_client` with `resumed`) would read and write
    nothing, told from memory alone: the namespace's ConfigMap list shows it holds its
    flow's HEAD and the status it would write is the one it has. The wait for a flow not
    seen yet is registered here, as the handler would. `application_spec`: what the
    Application index holds of one; a client whose Application it lacks goes to the
    handler (that reads it, and says if it is missing)."""
    meta = client["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    spec = client.get("spec") or {}
    if env is None or meta.get("deletionTimestamp"):
        return False
    application = application_spec(spec["application"]) if spec.get("application") else None
    if spec.get("application") and application is None:
        return False
    if rt.bindings.last_reconciled(namespace, name) is not None:
        return False  # reconciled here since: its resume body may be older than that
    snapshot = rt.bindings.fresh_resume_snapshot(namespace)
    if snapshot is None:
        return False
    cm_name = materialise.configmap_name(name)
    cm_meta = snapshot.configmaps.get(cm_name)
    if materialise.ownership(cm_meta, name, meta["uid"]) != "ours":
        return False
    held = materialise.fingerprint_of(cm_meta)
    request = resolve_request(spec, application)
    previous = client.get("status") or {}
    facts = bindingstatus.client_facts(meta.get("generation"), previous, request, held, cm_name, None)
    if held is None or not bindingstatus.same_status(previous, bindingstatus.client_status(facts, previous, rfc3339(rt.clock()))):
        return False
    return holds_head(rt, client, request, held, env, from_memory=True)


def primed(rt: Runtime, namespace: str) -> bool:
    return rt.flows.primed(namespace) and rt.bindings.fresh_resume_snapshot(namespace) is not None


def prime(rt: Runtime, namespace: str) -> None:
    """What `resumes_idle` needs, listed once for a namespace's resumes: its flows' names
    and flowops' ConfigMaps there (metadata)."""
    flowregistry.prime(rt.flows, rt.kube, namespace)
    Reads(rt.kube, rt.bindings).take_resume_snapshot(namespace)
