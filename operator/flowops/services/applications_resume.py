"""A restart resumes every Application. One whose status already says what its default
flow resolves to, with its flow's HEAD as the Flow watch showed it, has nothing to do:
its flow and version list are not read. It is told so from memory by the resume
handler's filter, in the event loop; anything else goes to the handler."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from ..domain import bindingstatus, policy
from ..domain.bindingtarget import Problem, check_selector
from ..runtime import Runtime
from . import bindings_applications, guardrailcache
from .bindings_concurrency import with_retries
from .bindings_resolve import Poster, no_events
from .common import rfc3339
from .flowregistry import ApplicationWaiter

# Logged for each Application whose resume is told idle from memory.
RESUMED_IDLE = "Resumed: its status says what its default flow resolves to; nothing to do."


def resumes_idle(rt: Runtime, app: Mapping[str, Any], env: Mapping[str, Any] | None, count: Callable[[], int]) -> bool:
    """Whether resuming this Application would write nothing, told without an API call.
    A flow listed but not seen yet is checked by its first event (`recheck`). `count`:
    its clients, as the ApiClient index holds them."""
    meta = app["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    if env is None or meta.get("deletionTimestamp"):
        return False
    previous, clients = app.get("status") or {}, count()
    default = (app.get("spec") or {}).get("defaultFlow") or {}
    flow, selector_text = default.get("name"), str(default.get("version") or "HEAD")

    def unchanged(message: str) -> bool:
        desired = bindingstatus.application_status(meta.get("generation"), clients, None, message, previous, rfc3339(rt.clock()))
        return bindingstatus.same_status(previous, desired)

    if not flow:
        return unchanged(bindingstatus.NO_DEFAULT_FLOW)
    env_name = (env.get("metadata") or {}).get("name") or "(none)"
    selector = check_selector(selector_text, allow_head=policy.allow_head_bindings(env.get("spec")), environment=env_name)
    # A content hash or an id names a version whose number only the list tells.
    if isinstance(selector, Problem) or selector.kind not in ("head", "number"):
        return False
    if not guardrailcache.compiled(policy.guardrails_of(env)).valid or not rt.flows.primed(namespace):
        return False
    follows_head = selector.kind == "head"

    def holds(head: str | None) -> bool:
        # HEAD is never a version that fails the rules in force: a pin at HEAD resolves as it did.
        return head is not None and unchanged(
            bindingstatus.application_message(flow, follows_head, int(selector.value or 0), head)
        )

    if follows_head and not unchanged(bindingstatus.application_message(flow, True, 0, "")):
        return False
    known, head = rt.flows.head_or_wait(namespace, flow, ApplicationWaiter(name, holds, count))
    return known == "awaited" or (known == "known" and holds(head))


def recheck(
    rt: Runtime, namespace: str, waiters: list[ApplicationWaiter], env: Mapping[str, Any] | None, post: Poster | None = None
) -> None:
    """Applications told idle before their flow was seen, whose status that flow's first
    event does not bear out: reconciled as their resume would have been."""
    for waiter in waiters:
        # From an event handler, which Kopf does not retry: retry here, then log.
        with_retries(
            functools.partial(
                bindings_applications.reconcile_application, rt, namespace, waiter.name, env, waiter.clients, post or no_events
            ),
            f"resuming Application {namespace}/{waiter.name}",
        )
