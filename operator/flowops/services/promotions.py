"""Execute one Promotion: validate, plan, gate on guardrails and approval, write once.

Exactly once: the target's new version carries the Promotion's uid, and every step
first looks for it. A crash at any point resumes into the same single version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import names
from ..domain import conditions, flowstatus, guardrails, policy
from ..domain import promotion as promotions
from ..domain.commit import VersionRecord
from ..domain.promotion import PromotionRejected
from ..domain.versionid import VersionNotFound, VersionRef, parse_selector, resolve_selector
from ..faults import crash_point
from ..kube import FLOWS, FLOWVERSIONS, PROMOTIONS, AlreadyExists, NotFound
from ..runtime import Runtime
from . import flows, guardrailcache, versions
from .flows import Poster, rfc3339

TERMINAL = ("Succeeded", "Failed")
EnvLookup = Callable[[str], Mapping[str, Any] | None]


class RetryLater(Exception):
    """A transient condition: the handler retries shortly."""


def reconcile(rt: Runtime, promotion: Mapping[str, Any], env_by_name: EnvLookup, env_by_namespace: EnvLookup,
              known_environments: Callable[[], list[str]], post: Poster) -> None:
    if (promotion.get("status") or {}).get("phase") in TERMINAL:
        return
    spec = promotion.get("spec") or {}
    target_name = (spec.get("target") or {}).get("flow") or (spec.get("source") or {}).get("flow", "")
    try:
        # The target's lock from its version list to its commit: that list stays current,
        # so the commit reuses it, and the Flow handler cannot commit this content meanwhile.
        with rt.flow_lock(promotion["metadata"]["namespace"], target_name):
            _run(rt, promotion, env_by_name, env_by_namespace, known_environments, post)
    except PromotionRejected as exc:
        _finish(rt, promotion, "Failed", exc.reason, str(exc), post)


def _run(rt: Runtime, promotion: Mapping[str, Any], env_by_name: EnvLookup, env_by_namespace: EnvLookup,
         known_environments: Callable[[], list[str]], post: Poster) -> None:
    kube = rt.kube
    meta, spec = promotion["metadata"], promotion.get("spec") or {}
    namespace, uid = meta["namespace"], meta["uid"]
    source = spec.get("source") or {}
    changes = spec.get("changes") or {}

    target_env = env_by_namespace(namespace)
    if target_env is None:
        raise PromotionRejected("NoEnvironment", (
            f"namespace {namespace} belongs to no Environment: create the Promotion in the namespace of the "
            "environment you promote into (an Environment's spec.namespace)"
        ))
    source_env = env_by_name(source.get("environment", ""))
    if source_env is None:
        raise PromotionRejected("UnknownEnvironment", (
            f"spec.source.environment {source.get('environment')!r} does not exist; environments: "
            f"{', '.join(sorted(known_environments())) or 'none'}"
        ))
    source_ns = source_env["spec"]["namespace"]
    target_name = (spec.get("target") or {}).get("flow") or source.get("flow", "")
    # The target's reads do not depend on the source's: both sides at once.
    with ThreadPoolExecutor(max_workers=1) as pool:
        target_state = pool.submit(_target_state, rt, namespace, target_name)
        # Metadata only: HEAD and numbers come from the version list, content from the version.
        source_flow = kube.get_metadata(FLOWS, source.get("flow", ""), source_ns)
        if source_flow is None:
            raise PromotionRejected("UnknownFlow", (
                f"spec.source.flow {source.get('flow')!r} does not exist in environment {source_env['metadata']['name']} "
                f"(namespace {source_ns})"
            ))
        source_version, source_number, source_doc, transition = _source_document(rt, source_env, source_flow, source.get("version") or "HEAD")
        target_flow, target_records, head_record, base_doc = target_state.result()
    landed = next((r for r in target_records if r.promotion_uid == uid), None)
    if landed is not None:
        _succeed(rt, promotion, target_flow, landed.id, landed.number, source_env, source_version, post)
        return
    if target_flow is not None and spec.get("ifTargetExists") == "Fail":
        raise PromotionRejected("TargetExists", (
            f"flow {target_name} already exists in environment {target_env['metadata']['name']} and "
            "spec.ifTargetExists is Fail: set it to Replace to make this the flow's next version, or promote under another name (spec.target.flow)"
        ))
    target_head = head_record.id if head_record else None
    same_flow = source_ns == namespace and source["flow"] == target_name
    if same_flow and source_version == target_head:
        raise PromotionRejected("SameVersion", (
            f"source and target are the same version ({source_version}) of flow {target_name}: "
            "to roll back, name an older version in spec.source.version"
        ))
    plan = promotions.compute(base_doc, source_doc, changes.get("include") or (), changes.get("exclude") or ())
    progress = {
        "sourceVersion": source_version,
        "sourceNumber": source_number,
        "targetFlow": target_name,
        "targetBaseVersion": target_head or "",
        "plan": plan.to_status(),
    }
    rules = guardrailcache.compiled(policy.guardrail_specs(target_env["spec"]))
    ok, summary = guardrails.summarize(guardrailcache.evaluate(rules, plan.result, plan.result_hash))
    if not ok:
        _patch_status(rt, promotion, progress)
        raise PromotionRejected("GuardrailsFailed", (
            f"the promoted document fails the guardrails of environment {target_env['metadata']['name']}; nothing was written. {summary}"
        ))
    if plan.empty:
        _finish(rt, promotion, "Succeeded", "NothingToPromote",
                f"nothing to promote: {target_name} HEAD already has this content; no version created", post, progress)
        return
    if spec.get("review") and not spec.get("approved"):
        if (promotion.get("status") or {}).get("phase") != "AwaitingApproval":
            message = f"plan ready: {plan.to_status()['total']} change(s) to {target_name}; approve with spec.approved: true"
            _patch_status(rt, promotion, {**progress, "phase": "AwaitingApproval", "message": message,
                                          "conditions": _conditions(promotion, "AwaitingApproval", message, rt)})
            post(promotion, "Normal", "AwaitingApproval", message)
        return
    if spec.get("review"):
        stale = promotions.stale_reason(promotion.get("status") or {}, source_version, target_head, plan.result_hash)
        if stale:
            raise PromotionRejected("PlanStale", stale)

    progress["startedAt"] = (promotion.get("status") or {}).get("startedAt") or rfc3339(rt.clock())
    if spec.get("review"):
        # Approved: show it left AwaitingApproval. Without review, the final status is the first.
        _patch_status(rt, promotion, {**progress, "phase": "Running", "message": "writing the target version",
                                      "conditions": _conditions(promotion, "Running", "writing the target version", rt)})
    provenance = {
        "uid": uid, "name": meta["name"], "namespace": namespace, "contentHash": plan.result_hash,
        "sourceEnvironment": source_env["metadata"]["name"], "sourceFlow": source["flow"], "sourceVersion": source_version,
        "comment": spec.get("comment") or f"promoted from {source_env['metadata']['name']}/{source['flow']}@{source_version}",
    }
    written = _write_target(rt, namespace, target_name, target_flow, transition, plan.result, provenance)
    crash_point("after-promotion-target-written")
    # lastPromotion goes out in the commit's own status write: one write of the target's status.
    later: list[Callable[[], None]] = []
    outcome = flows.reconcile_locked(
        rt, written, target_env, post, records=target_records, later=later,
        created_status=lambda created: {"lastPromotion": _last_promotion(rt, promotion, source_env, source_version, created.id)},
    )
    record = outcome.created or next((r for r in versions.list_records(kube, namespace, target_name) if r.promotion_uid == uid), None)
    if record is None:
        raise RetryLater(f"target flow {target_name} has no version for this promotion yet")
    crash_point("after-promotion-version-created")
    _succeed(rt, promotion, written, record.id, record.number, source_env, source_version, post, progress,
             published=outcome.created is not None)
    for write in later:  # the version's per-rule results: detail, once the user has the outcome
        write()


def _source_document(rt: Runtime, env: Mapping[str, Any], flow: Mapping[str, Any], selector_text: str) -> tuple[str, int | None, Any, str]:
    """(version id, number, document, transition) of the source."""
    selector = parse_selector(selector_text)
    name, namespace = flow["metadata"]["name"], flow["metadata"]["namespace"]
    if selector.kind == "uncommitted":
        if policy.protected(env["spec"]):
            raise PromotionRejected("UncommittedFromProtected", (
                f"spec.source.version uncommitted is not allowed from protected environment {env['metadata']['name']}: "
                "name a committed version (HEAD, a number or an id)"
            ))
        spec = rt.kube.get(FLOWS, name, namespace).get("spec") or {}
        return "uncommitted", None, spec.get("content") or {}, spec.get("transition", "RestartInProgress")
    records = [r for r in versions.list_records(rt.kube, namespace, name, owner_uid=flow["metadata"]["uid"]) if r.origin != "Quarantine"]
    head = flowstatus.head_of(records)
    try:
        ref = resolve_selector(selector, [VersionRef(r.id, r.number) for r in records], head.id if head else None)
    except VersionNotFound as exc:
        raise PromotionRejected("UnknownVersion", f"spec.source.version {selector_text}: {exc}") from None
    if not next(r for r in records if r.id == ref.id).ready and selector.kind != "head":
        raise PromotionRejected("VersionNotReady", (
            f"version {ref.number} ({ref.id}) of {name} failed its guardrails in {env['metadata']['name']}; promote a ready version"
        ))
    version = rt.kube.get(FLOWVERSIONS, versions.version_name(name, ref.id), namespace)
    transition = (version.get("spec") or {}).get("transition") or "RestartInProgress"
    return ref.id, ref.number, versions.decode(rt.kube, namespace, name, version), transition


def _target_state(rt: Runtime, namespace: str, name: str) -> tuple[Mapping[str, Any] | None, list[VersionRecord], VersionRecord | None, Any]:
    """The target flow's metadata, versions, HEAD and HEAD's document: what it serves now.
    Not its spec, which may hold content written by an interrupted attempt of this very
    Promotion and not yet committed."""
    flow = rt.kube.get_metadata(FLOWS, name, namespace)
    records = versions.list_records(rt.kube, namespace, name, owner_uid=flow["metadata"]["uid"]) if flow else []
    head = flowstatus.head_of(records)
    if head is None:
        return flow, records, None, None
    return flow, records, head, versions.decode(rt.kube, namespace, name, rt.kube.get(FLOWVERSIONS, versions.version_name(name, head.id), namespace))


def _write_target(rt: Runtime, namespace: str, name: str, existing: Mapping[str, Any] | None, transition: str,
                  document: Any, provenance: Mapping[str, Any]) -> Mapping[str, Any]:
    """Content and provenance in one request, so the commit that follows knows its origin."""
    record = versions.provenance_annotation(provenance)
    if existing is None:
        body = {
            "apiVersion": FLOWS.api_version, "kind": FLOWS.kind,
            # Content only: the source's labels and annotations (GitOps tracking among them) stay behind.
            "metadata": {"name": name, "namespace": namespace, "annotations": {names.ANN_PROMOTION: record}},
            "spec": {"content": document, "transition": transition},
        }
        try:
            return rt.kube.create(FLOWS, body, namespace)
        except AlreadyExists:  # created by an attempt that crashed before recording it
            existing = rt.kube.get(FLOWS, name, namespace)
    key = "/metadata/annotations/" + names.ANN_PROMOTION.replace("~", "~0").replace("/", "~1")
    ops: list[dict[str, Any]] = []
    if not (existing.get("metadata") or {}).get("annotations"):
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {}})
    ops += [{"op": "add", "path": key, "value": record}, {"op": "replace", "path": "/spec/content", "value": document}]
    return rt.kube.json_patch(FLOWS, name, ops, namespace)


def _conditions(promotion: Mapping[str, Any], phase: str, message: str, rt: Runtime) -> list[dict[str, Any]]:
    generation = promotion["metadata"].get("generation")
    ready = phase == "Succeeded"
    desired, drop = conditions.summary(
        ready, phase, message, generation,
        reconciling=message if phase in ("Pending", "Running") else None,
        stalled=message if phase == "Failed" else None,
    )
    return conditions.merge((promotion.get("status") or {}).get("conditions"), desired, rfc3339(rt.clock()), drop=drop)


def _patch_status(rt: Runtime, promotion: Mapping[str, Any], status: Mapping[str, Any]) -> None:
    meta = promotion["metadata"]
    try:
        rt.kube.patch_status(PROMOTIONS, meta["name"], {**status, "observedGeneration": meta.get("generation")}, meta["namespace"])
    except NotFound:
        pass  # deleted meanwhile: nothing to report to


def _finish(rt: Runtime, promotion: Mapping[str, Any], phase: str, reason: str, message: str, post: Poster,
            extra: Mapping[str, Any] | None = None) -> None:
    now = rfc3339(rt.clock())
    status = {
        "startedAt": (promotion.get("status") or {}).get("startedAt") or now,
        **(extra or {}), "phase": phase, "message": message, "completedAt": now,
        "conditions": _conditions(promotion, phase, message, rt),
    }
    _patch_status(rt, promotion, status)
    post(promotion, "Normal" if phase == "Succeeded" else "Warning", f"Promotion{phase}" if reason in ("", phase) else reason, message)


def _last_promotion(rt: Runtime, promotion: Mapping[str, Any], source_env: Mapping[str, Any], source_version: str,
                    version_id: str) -> dict[str, Any]:
    """The target Flow's status.lastPromotion."""
    return {"name": promotion["metadata"]["name"], "sourceEnvironment": source_env["metadata"]["name"],
            "sourceFlow": promotion["spec"]["source"]["flow"], "sourceVersion": source_version, "version": version_id,
            "time": rfc3339(rt.clock())}


def _succeed(rt: Runtime, promotion: Mapping[str, Any], target_flow: Mapping[str, Any] | None, version_id: str, number: int,
             source_env: Mapping[str, Any], source_version: str, post: Poster, extra: Mapping[str, Any] | None = None,
             published: bool = False) -> None:
    """`published`: the commit's status write already set lastPromotion (not so on resume)."""
    meta, spec = promotion["metadata"], promotion.get("spec") or {}
    target_name = (spec.get("target") or {}).get("flow") or spec["source"]["flow"]
    message = (f"promoted {source_env['metadata']['name']}/{spec['source']['flow']}@{source_version} to "
               f"{target_name} as version {number} ({version_id})")
    if target_flow is not None:
        if not published:
            last = _last_promotion(rt, promotion, source_env, source_version, version_id)
            rt.kube.patch_status(FLOWS, target_name, {"lastPromotion": last}, meta["namespace"])
        event_body = {"apiVersion": FLOWS.api_version, "kind": FLOWS.kind, "metadata": target_flow["metadata"]}
        post(event_body, "Normal", "Promoted", message + f" by Promotion {meta['name']}")
    _finish(rt, promotion, "Succeeded", "PromotionSucceeded", message, post,
            {**(extra or {}), "targetFlow": target_name, "targetVersion": version_id, "targetNumber": number})
