"""A version's guardrails verdict under the rules in force: judged, recorded on the
FlowVersion (status, then labels), and returned. Shared by HEAD selection and by the
bindings that pin a version, so neither serves a verdict made under older rules."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..domain import guardrails
from ..domain.commit import VersionRecord
from ..kube import Kube
from . import guardrailcache, versions


def judge(kube: Kube, namespace: str, record: VersionRecord, document: Any, rules: guardrails.CompiledRules) -> VersionRecord:
    results = guardrailcache.evaluate(rules, document, record.content_hash)
    ready, summary = guardrails.summarize(results)
    versions.set_guardrail_result(
        kube,
        namespace,
        record.name,
        ready,
        summary,
        [r.to_status() for r in results],
        rules.digest,
    )
    return dataclasses.replace(record, ready=ready, rules_digest=rules.digest, guardrails=summary[: versions.SUMMARY_LIMIT])
