"""Reconcile an Environment: validate its policy and chain, publish counts, and re-evaluate
its flows when its guardrails change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..domain import conditions, environmentstatus, policy, values
from ..kube import ENVIRONMENTS, FLOWS, NAMESPACES
from ..runtime import Runtime
from . import flows, guardrailcache, sync
from .common import Poster, rfc3339

EnvLookup = Callable[[str], Mapping[str, Any] | None]


def chain_problem(name: str, spec: Mapping[str, Any], env_by_name: EnvLookup, limit: int = 64) -> str | None:
    """A missing or cyclic upstream chain, described for the user."""
    seen = [name]
    upstream = spec.get("upstream")
    while upstream:
        if upstream in seen:
            return f"spec.upstream makes a cycle: {' → '.join(seen + [upstream])}; promotions must flow one way"
        env = env_by_name(upstream)
        if env is None:
            return f"spec.upstream names environment {upstream!r}, which does not exist"
        seen.append(upstream)
        if len(seen) > limit:
            return "spec.upstream chain is too long"
        upstream = (env.get("spec") or {}).get("upstream")
    return None


def namespace_claim_problem(name: str, namespace: str, owner: Mapping[str, Any] | None) -> str | None:
    """Another (older) Environment governs the namespace: this one is ignored."""
    if owner is None or owner["metadata"]["name"] == name:
        return None
    return (f"namespace {namespace} already belongs to Environment {owner['metadata']['name']} (created first): this "
            f"Environment is ignored; give it a namespace of its own (delete and re-create it: spec.namespace is immutable)")


def reconcile(rt: Runtime, env: Mapping[str, Any], env_by_name: EnvLookup, counts: tuple[int, int] | None, post: Poster,
              namespace_owner: EnvLookup | None = None) -> None:
    kube = rt.kube
    meta, spec = env["metadata"], env.get("spec") or {}
    previous = env.get("status") or {}
    claim = namespace_claim_problem(meta["name"], spec["namespace"], namespace_owner(spec["namespace"]) if namespace_owner else None)
    rules = guardrailcache.compiled(policy.guardrails_of(env))
    problems = []
    if not rules.valid:
        problems.append("invalid guardrails: " + "; ".join(f"{e.rule}: {e.message}" for e in rules.errors)
                        + " (flows fail these rules until they are fixed)")
    chain = chain_problem(meta["name"], spec, env_by_name)
    if chain:
        problems.append(chain)
    if kube.get_or_none(NAMESPACES, spec["namespace"]) is None:
        problems.append(f"namespace {spec['namespace']} does not exist: create it")
    if claim:
        problems.append(claim)

    if previous.get("guardrailsDigest") not in (None, rules.digest) and not claim:
        # New rules: HEAD candidates of every flow here are judged again.
        for flow in kube.iterate(FLOWS, spec["namespace"], page_size=50):
            flows.reconcile(rt, flow, env, post)
        post(env, "Normal", "GuardrailsChanged", "guardrails (or the names spec.values defines) changed: "
                                                  "flows in this environment were re-evaluated")

    preserved = values.preserved_paths(env)
    if (previous.get("preservedPaths") or []) != preserved:
        # The parts this environment owns changed: its flows' sync reports are compared again.
        for flow in kube.iterate(FLOWS, spec["namespace"], page_size=50):
            sync.publish(kube, spec["namespace"], flow["metadata"]["name"], env, env_by_name, (flow.get("status") or {}).get("sync"))

    message = "; ".join(problems) if problems else "policy valid; upstream chain valid"
    status = {
        "observedGeneration": meta.get("generation"),
        "protected": policy.protected(spec),
        "allowHeadBindings": policy.allow_head_bindings(spec),
        "guardrails": rules.status(),
        "guardrailsDigest": rules.digest,
    }
    if counts is not None:  # else left as they are
        status["flows"], status["outOfSync"] = counts
    if preserved or previous.get("preservedPaths"):
        status["preservedPaths"] = preserved or None  # what the sync reports were last compared with
    status["conditions"] = environmentstatus.environment_conditions(
        meta.get("generation"), rules.valid, problems[0] if problems else "", problems, previous.get("conditions"), rfc3339(rt.clock()))
    if any(previous.get(k) != v for k, v in status.items() if k != "conditions") or _conditions_changed(previous.get("conditions"), status["conditions"]):
        kube.patch_status(ENVIRONMENTS, meta["name"], status)
    if problems and problems != _previous_problems(previous):
        post(env, "Warning", "InvalidSpec", message)


def _conditions_changed(before: Any, after: list[dict[str, Any]]) -> bool:
    strip = lambda cs: sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in cs or ())  # noqa: E731
    return strip(before) != strip(after)


def _previous_problems(previous: Mapping[str, Any]) -> list[str]:
    ready = conditions.find(previous.get("conditions"), "Ready")
    return [ready.get("message", "")] if ready and ready.get("status") == "False" else []


def publish_counts(rt: Runtime, name: str, counts: tuple[int, int]) -> None:
    rt.kube.patch_status(ENVIRONMENTS, name, {"flows": counts[0], "outOfSync": counts[1]})
