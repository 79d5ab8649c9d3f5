"""Reconcile an Environment: validate its policy and chain, and re-evaluate its flows when
its guardrails change. Its flow counts are not written here (environmentreconcile)."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..domain import conditions, environmentstatus, pointer, policy, values
from ..domain.upstreamchain import LIMIT
from ..kube import ENVIRONMENTS, FLOWS, NAMESPACES, Conflict, Invalid, NotFound
from ..runtime import Runtime
from . import flows, guardrailcache, sync
from .common import Poster, RetryLater, rfc3339
from .threads import REEVALUATE_THREADS

EnvLookup = Callable[[str], Mapping[str, Any] | None]

log = logging.getLogger(__name__)


def chain_check(name: str, spec: Mapping[str, Any], env_by_name: EnvLookup, limit: int = LIMIT) -> tuple[str | None, str | None]:
    """One walk up the chain: (a fault a person must fix, a cycle or an overlong chain; an
    Environment it names that does not exist yet). The missing one is waited for: GitOps may
    apply it later in the same sync, and its creation reconciles this one again."""
    seen = [name]
    upstream = spec.get("upstream")
    while upstream:
        if upstream in seen:
            return f"spec.upstream makes a cycle: {' → '.join(seen + [upstream])}; promotions must flow one way", None
        env = env_by_name(upstream)
        if env is None:
            missing = (
                f"spec.upstream names environment {upstream!r}, which does not exist: waiting for it "
                "(if the name is wrong, correct spec.upstream)"
            )
            return None, missing
        seen.append(upstream)
        if len(seen) > limit:
            return f"spec.upstream chain has more than {limit} environments: point spec.upstream at one nearer its start", None
        upstream = (env.get("spec") or {}).get("upstream")
    return None, None


def chain_problem(name: str, spec: Mapping[str, Any], env_by_name: EnvLookup, limit: int = LIMIT) -> str | None:
    return chain_check(name, spec, env_by_name, limit)[0]


def missing_upstream(name: str, spec: Mapping[str, Any], env_by_name: EnvLookup, limit: int = LIMIT) -> str | None:
    return chain_check(name, spec, env_by_name, limit)[1]


def namespace_claim_problem(name: str, namespace: str, owner: Mapping[str, Any] | None) -> str | None:
    """Another (older) Environment governs the namespace: this one is ignored."""
    if owner is None or owner["metadata"]["name"] == name:
        return None
    return (
        f"namespace {namespace} already belongs to Environment {owner['metadata']['name']} (created first): this "
        f"Environment is ignored; give it a namespace of its own (delete and re-create it: spec.namespace is immutable)"
    )


def reconcile(
    rt: Runtime,
    env: Mapping[str, Any],
    env_by_name: EnvLookup,
    post: Poster,
    namespace_owner: EnvLookup | None = None,
    attempts_left: int = 4,
) -> None:
    """`attempts_left`: how often an Environment written since it was read is read and
    reconciled again."""
    kube = rt.kube
    meta, spec = env["metadata"], env.get("spec") or {}
    previous = env.get("status") or {}
    claim = namespace_claim_problem(
        meta["name"], spec["namespace"], namespace_owner(spec["namespace"]) if namespace_owner else None
    )
    rules = guardrailcache.compiled(policy.guardrails_of(env))
    problems = []
    if not rules.valid:
        problems.append(
            "invalid guardrails: "
            + "; ".join(f"spec.policy.guardrails[name={e.rule}]: {e.message}" for e in rules.errors)
            + " (flows fail these rules until they are fixed: correct them in spec.policy.guardrails)"
        )
    chain, missing = chain_check(meta["name"], spec, env_by_name)
    if chain:
        problems.append(chain)
    if claim:
        problems.append(claim)
    # What is on its way (its creation reconciles this Environment again) is waited for.
    waiting = [missing] if missing else []
    if kube.get_or_none(NAMESPACES, spec["namespace"]) is None:
        waiting.append(
            f"namespace {spec['namespace']} does not exist: waiting for it to be created (spec.namespace is "
            "immutable: if the name is wrong, create a new Environment)"
        )

    reevaluated: int | None = None
    if previous.get("guardrailsDigest") != rules.digest and not claim:
        # New rules: HEAD candidates of every flow here are judged again. The digest is
        # recorded below only once all were, so a crash or a failure resumes the work. A new
        # Environment has no digest yet: flows already in its namespace (committed while none
        # claimed it, under no rules) are judged too.
        reevaluated = reevaluate_flows(rt, env, rules.digest, post)

    preserved = values.preserved_paths(env)
    if (previous.get("preservedPaths") or []) != preserved:
        # The parts this environment owns changed: its flows' sync reports are compared again.
        for flow in kube.iterate(FLOWS, spec["namespace"], page_size=50):
            sync.publish(
                rt,
                spec["namespace"],
                flow["metadata"]["name"],
                env,
                env_by_name,
                (flow.get("status") or {}).get("sync"),
                uid=flow["metadata"].get("uid"),
                flow_object=flow,
            )

    message = "; ".join(problems) if problems else "policy valid; upstream chain valid"
    status = {
        "observedGeneration": meta.get("generation"),
        "protected": policy.protected(spec),
        "allowHeadBindings": policy.allow_head_bindings(spec),
        "guardrails": rules.status(),
        # Recorded only for rules its flows were judged by: an ignored Environment's are not,
        # so if it comes to govern the namespace, its flows are judged then.
        "guardrailsDigest": previous.get("guardrailsDigest") if claim else rules.digest,
    }
    if preserved or previous.get("preservedPaths"):
        status["preservedPaths"] = preserved or None  # what the sync reports were last compared with
    status["conditions"] = environmentstatus.environment_conditions(
        meta.get("generation"),
        rules.valid,
        problems[0] if problems else "",
        problems,
        previous.get("conditions"),
        rfc3339(rt.clock()),
        waiting,
    )
    if any(previous.get(k) != v for k, v in status.items() if k != "conditions") or _conditions_changed(
        previous.get("conditions"), status["conditions"]
    ):
        try:
            # Only over the status it was decided from: a process acting on an older event
            # (another replica) must not put back an older observedGeneration, digest or
            # problem; nothing later would correct it, status changes run no handler.
            kube.patch_status(ENVIRONMENTS, meta["name"], status, resource_version=meta.get("resourceVersion"))
        except Conflict:
            if not attempts_left:
                raise
            stored = kube.get_or_none(ENVIRONMENTS, meta["name"])
            if stored is not None:
                reconcile(rt, stored, env_by_name, post, namespace_owner, attempts_left - 1)
            return
        except NotFound:  # deleted meanwhile (by its name: a namesake would have been a Conflict)
            log.info("environment %s was deleted while it was reconciled: nothing more to do", meta["name"])
            return
    if reevaluated is not None and (reevaluated or previous.get("guardrailsDigest") is not None):
        # Told once the digest is recorded: an attempt refused above is made again, and
        # only the one that records it says so.
        post(
            env,
            "Normal",
            "GuardrailsChanged",
            f"guardrails (or the names spec.values defines) changed: the {reevaluated} flow(s) in this environment were "
            "re-evaluated",
        )
    if problems and problems != _previous_problems(previous):
        post(env, "Warning", "InvalidSpec", message)


def reconcile_named(
    rt: Runtime,
    name: str,
    env_by_name: EnvLookup,
    post: Poster,
    namespace_owner: EnvLookup | None = None,
) -> dict[str, Any] | None:
    """reconcile() of the Environment as stored now, which it returns (gone: nothing to do)."""
    env = rt.kube.get_or_none(ENVIRONMENTS, name)
    if env is not None:
        reconcile(rt, env, env_by_name, post, namespace_owner=namespace_owner)
    return env


def _conditions_changed(before: Any, after: list[dict[str, Any]]) -> bool:
    strip = lambda cs: sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in cs or ())  # noqa: E731
    return strip(before) != strip(after)


def _previous_problems(previous: Mapping[str, Any]) -> list[str]:
    ready = conditions.find(previous.get("conditions"), "Ready")
    return [ready.get("message", "")] if ready and ready.get("status") == "False" else []


def publish_counts(rt: Runtime, name: str, uid: str, counts: tuple[int, int]) -> bool:
    """Writes the counts onto Environment `name` only while it is the object `uid`: a write
    retried across its deletion must not land on a namesake created since, which may govern
    another namespace. False when it is gone or is another object now."""
    fields = {"flows": counts[0], "outOfSync": counts[1]}
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": uid}]
    ops += [{"op": "add", "path": pointer.child("/status", key), "value": value} for key, value in fields.items()]
    try:
        rt.kube.json_patch(ENVIRONMENTS, name, ops, subresource="status", metadata_only=True)
        return True
    except NotFound:
        return False
    except Invalid:  # another object of this name, or one created before status had a schema default
        current = rt.kube.get_or_none(ENVIRONMENTS, name)
    if current is None or current["metadata"].get("uid") != uid:
        return False
    try:
        rt.kube.patch_status(ENVIRONMENTS, name, fields, resource_version=current["metadata"]["resourceVersion"])
    except NotFound:
        return False
    return True


# Flows re-evaluated under a rule digest, per environment: a retry after a failure goes on
# where it stopped instead of starting over. One digest per environment is kept.
_reevaluated: dict[str, tuple[str, set[str]]] = {}
_reevaluated_guard = threading.Lock()


class ReevaluationIncomplete(Exception):
    """Some flows could not be re-evaluated; the others are done and are not redone."""


# A flow another writer moves while it is judged is read and judged again this often
# before the pass reports it unfinished (the handler then retries it later).
JUDGED_AGAIN = 2


def reevaluate_flows(rt: Runtime, env: Mapping[str, Any], digest: str, post: Poster) -> int:
    """Reconcile every flow of the environment under new rules, several at a time; one
    failing flow does not stop the others. Returns how many flows there are; raises
    ReevaluationIncomplete naming the failed ones (the handler retries only those)."""
    name, namespace = env["metadata"]["name"], env["spec"]["namespace"]
    with _reevaluated_guard:
        known_digest, done = _reevaluated.get(name, ("", set()))
        if known_digest != digest:
            done = set()
            _reevaluated[name] = (digest, done)
    all_flows = list(rt.kube.iterate(FLOWS, namespace, page_size=50))
    todo = [f for f in all_flows if f["metadata"]["name"] not in done]
    failed: dict[str, str] = {}

    def one(listed: Mapping[str, Any]) -> None:
        flow_name = listed["metadata"]["name"]
        flow: Mapping[str, Any] | None = listed
        for attempt in range(JUDGED_AGAIN + 1):
            if flow is None:
                break  # deleted meanwhile: nothing left to judge
            try:
                flows.reconcile(rt, flow, env, post)
                break
            except RetryLater as exc:
                # Another writer moved the flow while it was judged (its own commit, most
                # often): judged again as it is now, rather than failing the whole pass.
                if attempt == JUDGED_AGAIN:
                    failed[flow_name] = str(exc)[:200]
                    return
                flow = rt.kube.get_or_none(FLOWS, flow_name, namespace)
            except Exception as exc:  # noqa: BLE001 - one flow must not stop the others
                failed[flow_name] = str(exc)[:200]
                return
        with _reevaluated_guard:
            done.add(flow_name)

    # Kopf's poster reads its queue from context variables: each worker runs in a copy.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=REEVALUATE_THREADS, thread_name_prefix="reevaluate") as pool:
        list(pool.map(lambda flow: context.copy().run(one, flow), todo))
    if failed:
        names = ", ".join(sorted(failed)[:10]) + (" …" if len(failed) > 10 else "")
        message = (
            f"{len(failed)} of {len(all_flows)} flow(s) in environment {name} could not be re-evaluated under the new "
            f"guardrails yet ({names}); retrying those. First error: {next(iter(failed.values()))}"
        )
        post(env, "Warning", "ReevaluationIncomplete", message)
        raise ReevaluationIncomplete(message)
    with _reevaluated_guard:
        _reevaluated.pop(name, None)  # complete: the recorded digest says so from now on
    return len(all_flows)
