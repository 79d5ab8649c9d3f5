"""What applying a Flow manifest would do, decided before it is merged (pure).

`kubectl flowops check` feeds each Flow manifest with its environment (from the cluster
or from Environment manifests beside it) and, when the cluster is reachable, the flow's
versions and HEAD document. The verdict is the operator's own: the same guardrails, the
same protection rule, the same change message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import changemessage, guardrails, policy
from .canonical import content_hash
from .commit import VersionRecord, latest_of
from .diff import Change, diff

Verdict = Literal["Pass", "GuardrailsFailed", "Protected", "NoEnvironment", "InvalidRules"]


@dataclass(frozen=True)
class Head:
    """The cluster's side: the flow's versions and the document of its newest version."""

    records: Sequence[VersionRecord]
    document: Any


@dataclass(frozen=True)
class FlowCheck:
    flow: str
    namespace: str
    environment: str | None
    verdict: Verdict
    detail: str
    rules: list[dict[str, Any]] = field(default_factory=list)
    # The plan against the cluster: None when it was not consulted (offline).
    plan: Literal["NewFlow", "NewVersion", "NoChange"] | None = None
    against: int | None = None  # the version number compared with
    changes: list[Change] = field(default_factory=list)
    message: str | None = None  # the message the new version would record

    @property
    def ok(self) -> bool:
        return self.verdict == "Pass"


def check_flow(
    manifest: Mapping[str, Any], environment: Mapping[str, Any] | None, head: Head | None, consulted: bool
) -> FlowCheck:
    meta, spec = manifest.get("metadata") or {}, manifest.get("spec") or {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    document = spec.get("content") or {}
    env_name = (environment or {}).get("metadata", {}).get("name")
    env_spec = (environment or {}).get("spec")
    plan = _plan(meta, document, head) if consulted else {}
    base = {"flow": name, "namespace": namespace, "environment": env_name, **plan}
    if environment is None:
        return FlowCheck(
            verdict="NoEnvironment", detail=f"no Environment manages namespace {namespace}: no guardrails apply", **base
        )
    if policy.protected(env_spec):
        source = (env_spec or {}).get("upstream") or "<environment>"
        return FlowCheck(
            verdict="Protected",
            detail=(
                f"environment {env_name} is protected: flows there cannot be created or changed directly; "
                f"commit a Promotion into namespace {namespace} instead (kubectl flowops promote {name} --from {source} "
                f"--to {env_name} --dry-run=client -o yaml)"
            ),
            **base,
        )
    rules = guardrails.compile_rules(policy.guardrail_specs(env_spec))
    if not rules.valid:
        return FlowCheck(
            verdict="InvalidRules", detail=f"environment {env_name} has invalid guardrails", rules=rules.status(), **base
        )
    results = guardrails.evaluate(rules, document)
    ok, summary = guardrails.summarize(results)
    return FlowCheck(verdict="Pass" if ok else "GuardrailsFailed", detail=summary, rules=[r.to_status() for r in results], **base)


def _plan(meta: Mapping[str, Any], document: Any, head: Head | None) -> dict[str, Any]:
    cause = (meta.get("annotations") or {}).get("flowops.io/change-cause")
    if head is None:
        return {"plan": "NewFlow", "message": (cause or "").strip()}
    latest = latest_of(list(head.records))
    if latest is None:
        return {"plan": "NewFlow", "message": (cause or "").strip()}
    if latest.content_hash == content_hash(document):
        return {"plan": "NoChange", "against": latest.number}
    return {
        "plan": "NewVersion",
        "against": latest.number,
        "changes": diff(head.document, document),
        "message": changemessage.message(cause, head.records),
    }
