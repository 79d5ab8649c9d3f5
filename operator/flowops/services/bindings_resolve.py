"""What both binding reconcilers share: which version a flow and selector name in an
environment, and whether a condition changed enough to warn again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..domain import policy
from ..domain.bindingtarget import Problem, check_selector, choose_version, flow_missing
from ..domain.commit import VersionRecord
from ..domain.conditions import find
from . import guardrailcache
from .bindings_reads import Reads

log = logging.getLogger(__name__)

# post(body, type, reason, message): how Events reach the object (Kopf's poster in handlers).
Poster = Callable[[Mapping[str, Any], str, str, str], None]


def no_events(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    log.info("%s %s: %s", type_, reason, message)


def target(reads: Reads, namespace: str, flow: str, selector_text: str, env: Mapping[str, Any] | None) -> VersionRecord | Problem:
    allow_head = policy.allow_head_bindings((env or {}).get("spec"))
    env_name = ((env or {}).get("metadata") or {}).get("name") or "(none)"
    selector = check_selector(selector_text, allow_head=allow_head, environment=env_name)
    if isinstance(selector, Problem):
        return selector
    flow_obj = reads.flow(namespace, flow)
    if flow_obj is None:
        return flow_missing(namespace, flow)
    head = (flow_obj.get("status") or {}).get("latestReadyVersion")
    records = reads.records(namespace, flow, flow_obj["metadata"]["uid"])
    chosen = choose_version(flow, selector, records, head)
    rules = guardrailcache.compiled(policy.guardrails_of(env))
    if isinstance(chosen, Problem) or selector.kind == "head" or not rules.valid or chosen.judged_under(rules.digest):
        # HEAD is the Flow's own, judged again by its reconcile when rules change; rules
        # that cannot be compiled leave the last verdicts standing (as they do for HEAD).
        return chosen
    # A pin to a version judged under other rules: judged again before it is served.
    judged = reads.judged(namespace, flow, chosen, rules)
    return choose_version(flow, selector, [judged if r.id == judged.id else r for r in records], head)


def condition_changed(previous: Mapping[str, Any], status: Mapping[str, Any], type_: str) -> bool:
    """Warn once per new problem, not on every re-resolution that finds the same one."""
    before = find(previous.get("conditions"), type_) or {}
    after = find(status.get("conditions"), type_) or {}
    return any(before.get(k) != after.get(k) for k in ("status", "reason", "message"))
