"""What both binding reconcilers share: which version a flow and selector name in an
environment, and whether a condition changed enough to warn again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..domain import guardrails, policy
from ..domain.bindingtarget import Problem, UnfinishedPromotion, awaiting_promotion, check_selector, choose_version, flow_missing
from ..domain.commit import VersionRecord
from ..domain.conditions import find
from . import guardrailcache
from .bindings_reads import Reads

log = logging.getLogger(__name__)

# post(body, type, reason, message): how Events reach the object (Kopf's poster in handlers).
Poster = Callable[[Mapping[str, Any], str, str, str], None]


def no_events(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    log.info("%s %s: %s", type_, reason, message)


# unfinished(namespace, flow): the Promotions into it not finished yet (services/unfinishedpromotions.py).
Unfinished = Callable[[str, str], Sequence[UnfinishedPromotion]]


def target(
    reads: Reads, namespace: str, flow: str, selector_text: str, env: Mapping[str, Any] | None, unfinished: Unfinished
) -> VersionRecord | Problem:
    allow_head = policy.allow_head_bindings((env or {}).get("spec"))
    env_name = ((env or {}).get("metadata") or {}).get("name") or "(none)"
    selector = check_selector(selector_text, allow_head=allow_head, environment=env_name)
    if isinstance(selector, Problem):
        return selector
    flow_obj = reads.flow(namespace, flow)
    if flow_obj is None:
        return awaiting_promotion(flow_missing(namespace, flow), flow, selector, None, unfinished(namespace, flow))
    head = (flow_obj.get("status") or {}).get("latestReadyVersion")
    records = reads.records(namespace, flow, flow_obj["metadata"]["uid"])
    chosen = choose_version(flow, selector, records, head)
    if isinstance(chosen, Problem):
        # Asked only when something is missing: the index is read, never the API, in the operator.
        waits = chosen.reason == "VersionNotFound"
        return awaiting_promotion(chosen, flow, selector, records, unfinished(namespace, flow)) if waits else chosen
    rules = guardrailcache.compiled(policy.guardrails_of(env))
    if not rules.valid:
        return _rules_invalid(env_name, rules)
    if chosen.judged_under(rules.digest):
        return chosen
    # Judged under other rules (they changed since): judged again before it is served, HEAD
    # too (its Flow's reconcile may not have reached it yet).
    judged = reads.judged(namespace, flow, chosen, rules)
    if selector.kind == "head" and not judged.ready:
        return Problem(
            "NoReadyVersion",
            f"flow {flow}'s HEAD, version {judged.number} ({judged.id}), fails the environment's current guardrails "
            f"({judged.guardrails}); HEAD is being judged again under them",
            stalled=False,
        )
    return choose_version(flow, selector, [judged if r.id == judged.id else r for r in records], head)


def _rules_invalid(environment: str, rules: guardrails.CompiledRules) -> Problem:
    broken = "; ".join(f"{e.rule}: {e.message}" for e in rules.errors)
    return Problem(
        "GuardrailsInvalid",
        f"environment {environment}'s guardrails cannot be used ({broken}): fix spec.policy.guardrails; until then no "
        "version is resolved (a binding keeps what it holds)",
    )


def condition_changed(previous: Mapping[str, Any], status: Mapping[str, Any], type_: str) -> bool:
    """Warn once per new problem, not on every re-resolution that finds the same one."""
    before = find(previous.get("conditions"), type_) or {}
    after = find(status.get("conditions"), type_) or {}
    return any(before.get(k) != after.get(k) for k in ("status", "reason", "message"))
