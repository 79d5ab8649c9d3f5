"""The status a Flow should show, computed from its versions (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import conditions
from .commit import VersionRecord, latest_of


@dataclass(frozen=True)
class FlowFacts:
    generation: int | None
    content_hash: str
    document_bytes: int
    uncommitted: bool
    guardrails_ok: bool | None  # of the newest version; None when not evaluated
    guardrails_message: str
    last_commit: str | None = None
    problem: str | None = None  # a stalled reason, e.g. the document cannot be stored
    problem_reason: str = "Stalled"
    environment_note: str | None = None


# Guardrails (of the newest version) decides Ready; Tampered reports a direct edit of a
# protected flow while the edited content is live, and is cleared once it is restored.
FLOW = conditions.ConditionSet("Flow", dependents=("Guardrails",), informational=("Tampered",))


# What a Flow's status is computed from, besides the versions listed: its spec (the
# generation), and the versions as the status read showed them. Another writer's status
# moves these when it saw other versions (a newer commit, a quarantined edit, a trimmed
# history) or another spec; a status computed before that must not be written over it.
COMPUTED_FROM = (
    "/metadata/generation",
    "/status/observedGeneration",
    "/status/versionCount",
    "/status/latestCreatedNumber",
    "/status/latestReadyNumber",
)


def head_of(versions: Sequence[VersionRecord]) -> VersionRecord | None:
    return max((v for v in versions if v.can_be_head), key=lambda v: v.number, default=None)


def compute(versions: Sequence[VersionRecord], facts: FlowFacts, previous: Mapping[str, Any] | None, now: str) -> dict[str, Any]:
    previous = previous or {}
    latest, head = latest_of(list(versions)), head_of(versions)
    status: dict[str, Any] = {
        "observedGeneration": facts.generation,
        "versionCount": len(versions),
        "uncommitted": facts.uncommitted,
        "contentHash": facts.content_hash,
        "documentBytes": facts.document_bytes,
        "latestCreatedVersion": latest.id if latest else None,
        "latestCreatedNumber": latest.number if latest else None,
        "latestReadyVersion": head.id if head else None,
        "latestReadyNumber": head.number if head else None,
    }
    if facts.last_commit is not None:
        status["lastCommit"] = facts.last_commit

    marks = FLOW.marks(facts.generation)
    if facts.guardrails_ok is not None:
        if facts.guardrails_ok:
            marks.true("Guardrails", "Passed", facts.guardrails_message)
        else:
            marks.false("Guardrails", "Failed", facts.guardrails_message)
    note = f". {facts.environment_note}" if facts.environment_note else ""
    if facts.problem:
        marks.stalled(facts.problem_reason, facts.problem + note)
    elif latest is None:
        marks.not_ready("NoVersion", "no version committed yet" + note)
    elif facts.guardrails_ok is False:
        # Only a new edit fixes this: Stalled, so Flux fails fast and shows the rule.
        kept = f"HEAD stays at version {head.number} ({head.id})" if head else "there is no HEAD yet"
        marks.stalled("GuardrailsFailed", f"version {latest.number} failed guardrails; {kept}. {facts.guardrails_message}{note}")
    elif head is None:
        marks.not_ready("NoReadyVersion", "no ready version" + note)
    elif facts.uncommitted:
        marks.ready(
            "UncommittedChanges",
            (
                f"HEAD is version {head.number}; spec.content has uncommitted changes: set the annotation "
                "flowops.io/commit to a commit message (or `kubectl flowops commit`)" + note
            ),
        )
    else:
        marks.ready("UpToDate", f"HEAD is version {head.number} ({head.id})" + note)
    status["conditions"] = marks.conditions(previous.get("conditions"), now)
    return status


# The Ready message of a flow in a namespace no Environment manages contains this.
NO_ENVIRONMENT_NOTE = "no Environment manages namespace"


def settled(flow: Mapping[str, Any], history_limit: int, has_environment: bool) -> bool:
    """The status already describes this exact spec: committed, within its history limit,
    under the same environment. A restart has nothing to do for such a flow (no list, no write).
    For a resumed flow only: Kopf resumes (rather than updates) a spec whose generation is
    the one last handled, as recorded in an annotation only the operator may write; the
    status's observedGeneration ties it to that spec, so the content is not hashed again."""
    meta, status = flow.get("metadata") or {}, flow.get("status") or {}
    ready = conditions.find(status.get("conditions"), "Ready") or {}
    return (
        status.get("observedGeneration") == meta.get("generation")
        and bool(status.get("contentHash"))
        and status.get("uncommitted") is False
        and status.get("latestCreatedVersion") is not None
        and int(status.get("versionCount") or 0) <= history_limit
        and (NO_ENVIRONMENT_NOTE in str(ready.get("message", ""))) != has_environment
    )
