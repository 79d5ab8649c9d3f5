"""Reconcile one Application: whether its default flow resolves, and how many clients
it has. Both take the count under the Application's lock, so a count taken before
another write cannot overwrite a newer one."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from ..domain import bindingstatus
from ..domain.bindingtarget import Problem, is_head_selector
from ..kube import APPLICATIONS, Conflict, NotFound
from ..runtime import Runtime
from . import environmentlookup, unfinishedpromotions
from .bindings_reads import Reads
from .bindings_resolve import Poster, condition_changed, no_events, target
from .common import rfc3339


def reconcile_application(
    rt: Runtime, namespace: str, name: str, env: Mapping[str, Any] | None, count: Callable[[], int], post: Poster = no_events
) -> dict[str, Any] | None:
    """`count`: its clients now, as the ApiClient index holds them. `env`, as a client's:
    decided under the Environment the live index shows once the lock is held."""
    with rt.bindings.lock("Application", namespace, name):
        for _ in range(_ATTEMPTS):
            app = rt.kube.get_or_none(APPLICATIONS, name, namespace)
            if app is None or app["metadata"].get("deletionTimestamp"):
                return None
            clients = count()
            governing = environmentlookup.governing_now(rt, namespace, env)
            try:
                status = _reconcile_application(rt, app, governing, clients, post)
            except Conflict:
                continue  # written since it was read (another operator process): decided again
            except NotFound:
                return None  # deleted since it was read: nothing to decide
            rt.bindings.wrote_application_clients(namespace, name, clients)
            return status
    raise RuntimeError(f"Application {namespace}/{name}: its status kept being written meanwhile; retrying")


# Each attempt loses only to another write of the Application made meanwhile.
_ATTEMPTS = 5


def write_clients(rt: Runtime, namespace: str, name: str, count: Callable[[], int]) -> None:
    """Clients came or went: status.clients alone is written. Its default flow resolves as
    before, so it is not read again (a burst of new clients would read it for each)."""
    with rt.bindings.lock("Application", namespace, name):
        clients = count()
        if rt.bindings.application_clients_pending(namespace, name, clients):
            return
        try:
            rt.kube.patch_status(APPLICATIONS, name, {"clients": clients}, namespace)
        except NotFound:
            rt.bindings.forget_application(namespace, name)
            return
        rt.bindings.wrote_application_clients(namespace, name, clients)


def _reconcile_application(
    rt: Runtime, app: Mapping[str, Any], env: Mapping[str, Any] | None, clients: int, post: Poster
) -> dict[str, Any]:
    kube = rt.kube
    meta = app["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    previous = app.get("status") or {}
    default = (app.get("spec") or {}).get("defaultFlow") or {}
    flow, selector_text = default.get("name"), str(default.get("version") or "HEAD")
    problem: Problem | None = None
    if not flow:
        message = bindingstatus.NO_DEFAULT_FLOW
    else:
        resolved = target(
            Reads(kube, rt.bindings),
            namespace,
            flow,
            selector_text,
            env,
            functools.partial(unfinishedpromotions.asked_by, rt, "Application", name),
        )
        if isinstance(resolved, Problem):
            problem, message = resolved, resolved.message
        else:
            message = bindingstatus.application_message(flow, is_head_selector(selector_text), resolved.number, resolved.id)
    status = bindingstatus.application_status(meta.get("generation"), clients, problem, message, previous, rfc3339(rt.clock()))
    if not bindingstatus.same_status(previous, status):
        # Only over the status it was computed from: another process's newer decision (a
        # HEAD it read later) is never overwritten by this older one.
        kube.patch_status(APPLICATIONS, name, status, namespace, resource_version=meta.get("resourceVersion"))
    if problem is not None and condition_changed(previous, status, "Ready"):
        post(app, "Warning", problem.reason, problem.message)
    return status
