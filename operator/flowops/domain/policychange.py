"""What an Environment's spec change loosens: the audit trail a security reviewer reads.

Changing policy is a cluster admin's right, and one request may loosen several rules at
once; each loosening is named so the Event says exactly what production now allows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import policy

Spec = Mapping[str, Any] | None


def _flag_loosened(field: str, before: bool, after: bool, loosened_when: bool) -> list[str]:
    return [f"{field} {str(before).lower()} → {str(after).lower()}"] if before != after and after == loosened_when else []


def loosened(env_name: str, old: Spec, new: Spec) -> list[str]:
    """Each rule the change from `old` to `new` loosens, in words that name the field."""
    found: list[str] = []
    found += _flag_loosened("spec.protected", policy.protected(old), policy.protected(new), False)
    for field, read, loosened_when in (
        ("requireReview", policy.require_review, False),
        ("separationOfDuties", policy.separation_of_duties, False),
        ("allowHeadSource", policy.allow_head_source, True),
        ("allowUncommittedSource", policy.allow_uncommitted_source, True),
    ):
        found += _flag_loosened(f"spec.policy.promotion.{field}", read(old), read(new), loosened_when)
    gained = sorted(set(policy.allowed_sources(env_name, new)) - set(policy.allowed_sources(env_name, old)))
    if gained:
        found.append(f"promotions now accepted from {', '.join(gained)}")
    before_groups, after_groups = policy.approver_groups(old), policy.approver_groups(new)
    if before_groups is not None and (after_groups is None or set(after_groups) - set(before_groups)):
        widened = "anyone with the approve permission" if after_groups is None else ", ".join(sorted(after_groups))
        found.append(f"approvals reserved to {', '.join(sorted(before_groups))} now open to {widened}")
    approvers = sorted(set(policy.gitops_approvers(new)) - set(policy.gitops_approvers(old)))
    if approvers:
        found.append(f"GitOps approvers added: {', '.join(approvers)}")
    if not policy.allow_head_bindings(old) and policy.allow_head_bindings(new):
        found.append("ApiClients may now follow HEAD")
    if policy.freeze(old) and not policy.freeze(new):
        found.append("the freeze was lifted")
    rules_before = {r.get("name"): r for r in policy.guardrail_specs(old)}
    rules_after = {r.get("name"): r for r in policy.guardrail_specs(new)}
    removed = sorted(str(n) for n in set(rules_before) - set(rules_after))
    changed = sorted(str(n) for n in set(rules_before) & set(rules_after) if rules_before[n] != rules_after[n])
    if removed:
        found.append(f"guardrails removed: {', '.join(removed)}")
    if changed:
        found.append(f"guardrails changed: {', '.join(changed)}")
    if (old or {}).get("upstream") != (new or {}).get("upstream"):
        found.append(f"spec.upstream {(old or {}).get('upstream') or 'none'} → {(new or {}).get('upstream') or 'none'}")
    return found
