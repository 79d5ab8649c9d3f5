"""ApiClient and Application: resolve bindings, materialise ConfigMaps, and re-resolve
exactly the bindings a Flow, Application or Environment change touches (via indexes,
never a scan of every client per event)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import kopf

from .. import runtime
from ..domain import fanout, policy
from ..domain import promotion as promotions
from ..domain.binding import inherited
from ..kube.resources import API_GROUP, API_VERSION
from ..services import (
    applications_resume,
    bindings,
    bindings_applications,
    bindings_clients,
    bindings_resume,
    flowevents,
    unfinishedpromotions,
)
from ..services.common import RetryLater
from .events import post
from .indexes import first, lookup_in
from .retries import retry_shortly

APICLIENT = (API_GROUP, API_VERSION, "apiclients")
APPLICATION = (API_GROUP, API_VERSION, "applications")
FLOW = (API_GROUP, API_VERSION, "flows")
ENVIRONMENT = (API_GROUP, API_VERSION, "environments")


# -- indexes ----------------------------------------------------------------------------


@kopf.index(*APICLIENT)
async def apiclients_by_application(name: str, namespace: str, spec: kopf.Spec, **_: Any) -> dict[Any, str]:
    application = spec.get("application")
    return {(namespace, application): name} if application else {}


@kopf.index(*APICLIENT)
async def apiclients_by_flow(name: str, namespace: str, status: kopf.Status, **_: Any) -> dict[Any, dict]:
    """Keyed by the flow the client asks for (after inheritance), as last resolved. A client
    not resolved yet is kept under None: an Environment's change must reach it too."""
    entry = fanout.client_entry(name, status)
    return {(namespace, entry["requested"]): entry}


@kopf.index(*APPLICATION)
async def applications_by_flow(name: str, namespace: str, spec: kopf.Spec, status: kopf.Status, **_: Any) -> dict[Any, dict]:
    """Keyed by the default flow: a Flow's event finds the Applications it touches without
    a walk over its namespace's. One without a default flow is touched by no Flow or
    Environment change (it resolves nothing), so it is not kept."""
    entry = fanout.application_entry(name, spec, status)
    return {(namespace, entry["flow"]): entry} if entry["flow"] else {}


@kopf.index(*APPLICATION)
async def application_clients(name: str, namespace: str, status: kopf.Status, **_: Any) -> dict[Any, Any]:
    """Each Application's status.clients as last seen (None: never written)."""
    return {(namespace, name): status.get("clients")}


@kopf.index(*APPLICATION)
async def applications_by_name(name: str, namespace: str, spec: kopf.Spec, **_: Any) -> dict[Any, dict]:
    """What each Application's clients inherit, for the resume filter (no read per client)."""
    return {(namespace, name): inherited(spec)}


def _clients_of(index: kopf.Index, namespace: str, application: str) -> list[str]:
    return list(index.get((namespace, application), ()))


def _count_of(index: kopf.Index, namespace: str, application: str) -> int:
    return len(_clients_of(index, namespace, application))


# -- ApiClient --------------------------------------------------------------------------


def resume_has_work(
    body: kopf.Body,
    namespace: str,
    logger: kopf.Logger,
    environments_by_namespace: kopf.Index,
    applications_by_name: kopf.Index,
    **_: Any,
) -> bool:
    """Kopf's filter of the resume handler: a restart resumes every client, and most hold
    what their binding names. Those are told from memory here, in the event loop, and
    logged as resumed; handing each to a thread costs more than its nothing."""
    env = first(environments_by_namespace, namespace)
    application = lookup_in(applications_by_name)
    if bindings_resume.resumes_idle(runtime.current(), body, env, lambda name: application((namespace, name))):
        logger.info(bindings_resume.RESUMED_IDLE)
        return False
    return True


async def prime_client_resume(type: str | None, namespace: str, environments_by_namespace: kopf.Index, **_: Any) -> None:
    """Kopf runs watching handlers before it asks `resume_has_work` about the same event:
    a listed client (type None: a restart's or a re-list's) lists what its namespace's
    resumes need first, once for all of them."""
    rt = runtime.current()
    if type is None and first(environments_by_namespace, namespace) and not bindings_resume.primed(rt, namespace):
        await asyncio.to_thread(bindings_resume.prime, rt, namespace)


@kopf.on.resume(*APICLIENT, when=resume_has_work)
@kopf.on.create(*APICLIENT)
@kopf.on.update(*APICLIENT)
def reconcile_apiclient(
    body: kopf.Body,
    name: str,
    namespace: str,
    reason: kopf.Reason,
    retry: int,
    environments_by_namespace: kopf.Index,
    **_: Any,
) -> None:
    env = first(environments_by_namespace, namespace)
    resumed = body if reason == kopf.Reason.RESUME else None
    try:
        bindings_clients.reconcile_client(runtime.current(), namespace, name, env, post=post, resumed=resumed)
    except RetryLater as exc:
        raise retry_shortly(exc, retry, 5, body, post) from None


async def count_clients(
    type: str | None,
    name: str,
    namespace: str,
    spec: kopf.Spec,
    apiclients_by_application: kopf.Index,
    application_clients: kopf.Index,
    **_: Any,
) -> None:
    """Keep Application status.clients true when clients come, go or move: the client's
    Application is counted, and after a move the one it left. Async: it runs on every
    client event (a fan-out's status writes among them) and rarely calls the API. A count
    written here moments ago is not written again while the index catches up."""
    rt = runtime.current()
    application = spec.get("application") or None
    left = rt.bindings.client_seen_under(namespace, name, None if type == "DELETED" else application)
    for app in dict.fromkeys(a for a in (application, left) if a):  # a deleted client's is both
        shown = list(application_clients.get((namespace, app), ()))
        if not shown:
            continue  # no such Application (yet): its own reconcile counts its clients
        count = functools.partial(_count_of, apiclients_by_application, namespace, app)
        clients = count()
        if shown[0] != clients and not rt.bindings.application_clients_pending(namespace, app, clients):
            await asyncio.to_thread(bindings_applications.write_clients, rt, namespace, app, count)


# -- Application ------------------------------------------------------------------------


def application_resume_has_work(
    body: kopf.Body,
    namespace: str,
    logger: kopf.Logger,
    environments_by_namespace: kopf.Index,
    apiclients_by_application: kopf.Index,
    **_: Any,
) -> bool:
    """Kopf's filter of the Application resume handler, as `resume_has_work` is the client's."""
    env = first(environments_by_namespace, namespace)
    count = functools.partial(_count_of, apiclients_by_application, namespace, body["metadata"]["name"])
    if applications_resume.resumes_idle(runtime.current(), body, env, count):
        logger.info(applications_resume.RESUMED_IDLE)
        return False
    return True


async def prime_application_resume(type: str | None, namespace: str, environments_by_namespace: kopf.Index, **_: Any) -> None:
    """A listed Application: its namespace's flows are listed first, once, for the filter."""
    rt = runtime.current()
    if type is None and first(environments_by_namespace, namespace) and not rt.flows.primed(namespace):
        await asyncio.to_thread(flowevents.prime, rt, namespace)


@kopf.on.create(*APPLICATION)
@kopf.on.update(*APPLICATION)
def reconcile_application(
    name: str, namespace: str, apiclients_by_application: kopf.Index, environments_by_namespace: kopf.Index, **_: Any
) -> None:
    rt, env = runtime.current(), first(environments_by_namespace, namespace)
    count = functools.partial(_count_of, apiclients_by_application, namespace, name)
    bindings_applications.reconcile_application(rt, namespace, name, env, count, post=post)
    bindings.reresolve_clients(rt, namespace, _clients_of(apiclients_by_application, namespace, name), env, post=post)


# Registered after the create and update handlers: Kopf asks the first handler registered
# for a kind about every event, and a resume filter must be asked about resumes only.
@kopf.on.resume(*APPLICATION, when=application_resume_has_work)
def resume_application(
    name: str, namespace: str, apiclients_by_application: kopf.Index, environments_by_namespace: kopf.Index, **_: Any
) -> None:
    # Clients resume on their own: no fan-out at start-up.
    env = first(environments_by_namespace, namespace)
    count = functools.partial(_count_of, apiclients_by_application, namespace, name)
    bindings_applications.reconcile_application(runtime.current(), namespace, name, env, count, post=post)


async def application_deleted(
    type: str, name: str, namespace: str, apiclients_by_application: kopf.Index, environments_by_namespace: kopf.Index, **_: Any
) -> None:
    """Its clients lose the inherited settings: each reports what it resolves to now."""
    if type == "DELETED":
        rt = runtime.current()
        rt.bindings.forget_application(namespace, name)
        env = first(environments_by_namespace, namespace)
        clients = _clients_of(apiclients_by_application, namespace, name)
        await asyncio.to_thread(bindings.reresolve_clients, rt, namespace, clients, env, post=post)


# -- Flow and Environment ---------------------------------------------------------------


async def flow_changed(
    type: str,
    name: str,
    namespace: str,
    status: kopf.Status,
    apiclients_by_flow: kopf.Index,
    applications_by_flow: kopf.Index,
    apiclients_by_application: kopf.Index,
    environments_by_namespace: kopf.Index,
    **_: Any,
) -> None:
    """A new HEAD, a new version, or the flow's deletion: re-resolve who it touches. Async:
    most Flow events touch no client and need no thread."""
    deleted = type == "DELETED"
    head = None if deleted else status.get("latestReadyVersion")
    indexed = [
        e["name"]
        for e in list(apiclients_by_flow.get((namespace, name), ()))
        if fanout.client_touched_by_flow(e, name, head, deleted)
    ]
    # Clients that read this flow before its events showed this HEAD, which the index may not show yet.
    reading = runtime.current().bindings.flow_readers.behind(namespace, name, head, deleted)
    clients = list(dict.fromkeys(indexed + reading))
    apps = [
        a["name"]
        for a in list(applications_by_flow.get((namespace, name), ()))
        if fanout.application_touched_by_flow(a, name, deleted, head)
    ]
    if clients or apps:
        await asyncio.to_thread(_reresolve, namespace, clients, apps, apiclients_by_application, environments_by_namespace)


async def promotion_changed(
    type: str | None,
    body: kopf.Body,
    apiclients_by_flow: kopf.Index,
    applications_by_flow: kopf.Index,
    apiclients_by_application: kopf.Index,
    environments_by_namespace: kopf.Index,
    **_: Any,
) -> None:
    """A Promotion into a flow came, changed phase, finished or went: the bindings waiting
    for one say what they wait for now, or fail once none may bring what they name (one
    that Succeeded brought it: its Flow's event re-resolves them too); those whose flow or
    version is missing may wait for it. Async: most Promotion events are progress notes
    of an unchanged phase and touch nothing."""
    meta = body["metadata"]
    namespace, flow = meta["namespace"], promotions.target_flow_name(body.get("spec") or {})
    entry = {} if type == "DELETED" else unfinishedpromotions.index_entry(body)
    unfinished = bool(entry)
    waiters = runtime.current().bindings.promotion_waiters
    if not waiters.phase_changed(namespace, meta["name"], next(iter(entry.values())).phase if unfinished else None):
        return
    asked = waiters.recent(namespace, flow)
    clients = [
        e["name"] for e in list(apiclients_by_flow.get((namespace, flow), ())) if fanout.touched_by_promotion(e, unfinished)
    ]
    apps = [
        a["name"] for a in list(applications_by_flow.get((namespace, flow), ())) if fanout.touched_by_promotion(a, unfinished)
    ]
    # Bindings that asked lately, whose status the indexes may not show yet.
    clients = list(dict.fromkeys(clients + [name for kind, name in asked if kind == "ApiClient"]))
    apps = list(dict.fromkeys(apps + [name for kind, name in asked if kind == "Application"]))
    if clients or apps:
        await asyncio.to_thread(_reresolve, namespace, clients, apps, apiclients_by_application, environments_by_namespace)


def environment_changed(
    type: str,
    body: kopf.Body,
    spec: kopf.Spec,
    apiclients_by_flow: kopf.Index,
    applications_by_flow: kopf.Index,
    apiclients_by_application: kopf.Index,
    environments_by_namespace: kopf.Index,
    **_: Any,
) -> None:
    """The HEAD policy may have changed: clients and applications asking for HEAD report it.
    The guardrails may have changed (its status records the new rules once its flows were
    judged): pinned versions are judged again. Values may have changed: clients whose
    ConfigMaps used them are re-rendered."""
    namespace = spec.get("namespace")
    if not namespace:
        return
    env = None if type == "DELETED" else first(environments_by_namespace, namespace)
    allow = policy.allow_head_bindings((env or {}).get("spec"))
    state = runtime.current().bindings
    if type == "DELETED":
        state.forget_rules(namespace)
    owns = env is not None and env["metadata"]["name"] == body["metadata"]["name"]  # not one the namespace ignores
    rules = owns and state.rules_changed(namespace, (body.get("status") or {}).get("guardrailsDigest"))
    clients = [
        e["name"]
        for key in list(apiclients_by_flow)
        if key[0] == namespace
        for e in list(apiclients_by_flow.get(key, ()))
        if fanout.client_touched_by_policy(e, allow)
        or fanout.client_touched_by_environment(e, exists=env is not None)
        or (rules and fanout.client_touched_by_rules(e))
    ]
    apps = [
        a["name"]
        for key in list(applications_by_flow)
        if key[0] == namespace
        for a in list(applications_by_flow.get(key, ()))
        if fanout.application_touched_by_policy(a, allow) or (rules and fanout.application_touched_by_rules(a))
    ]
    if clients or apps:
        _reresolve(namespace, clients, apps, apiclients_by_application, environments_by_namespace)
    if type != "DELETED":
        env_values = spec.get("values") or {}
        rendered = [
            e
            for key in list(apiclients_by_flow)
            if key[0] == namespace
            for e in list(apiclients_by_flow.get(key, ()))
            if e["name"] not in clients and fanout.client_touched_by_values(e, env_values)
        ]
        if rendered:
            bindings.rerender_for_values(runtime.current(), body, rendered, post=post)


def _reresolve(
    namespace: str,
    clients: list[str],
    apps: list[str],
    apiclients_by_application: kopf.Index,
    environments_by_namespace: kopf.Index,
) -> None:
    rt, env = runtime.current(), first(environments_by_namespace, namespace)
    counts = {app: functools.partial(_count_of, apiclients_by_application, namespace, app) for app in apps}
    bindings.reresolve_applications(rt, namespace, counts, env, post=post)
    bindings.reresolve_clients(rt, namespace, clients, env, post=post)
