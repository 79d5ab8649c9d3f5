"""A version's guardrails verdict under the rules in force. Shared by HEAD selection, the
bindings that pin a version and a Promotion's source check, so none of them uses a
verdict made under older rules."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..domain import guardrails
from ..domain.commit import VersionRecord
from ..kube import Kube
from . import guardrailcache, versions


def reckon(
    record: VersionRecord, document: Any, rules: guardrails.CompiledRules
) -> tuple[VersionRecord, list[guardrails.RuleResult]]:
    """The record as `rules` judge its document, and the per-rule results (nothing written)."""
    results = guardrailcache.evaluate(rules, document, record.content_hash)
    ready, summary = guardrails.summarize(results)
    judged = dataclasses.replace(record, ready=ready, rules_digest=rules.digest, guardrails=summary[: versions.SUMMARY_LIMIT])
    return judged, results


def judge(kube: Kube, namespace: str, record: VersionRecord, document: Any, rules: guardrails.CompiledRules) -> VersionRecord:
    """reckon(), and the verdict recorded on the FlowVersion (one write)."""
    judged, results = reckon(record, document, rules)
    assert judged.ready is not None
    versions.set_guardrail_result(
        kube, namespace, record.name, judged.ready, judged.guardrails, [r.to_status() for r in results], rules.digest
    )
    return judged
