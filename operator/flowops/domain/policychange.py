"""What an Environment's spec change loosens: the audit trail a security reviewer reads.

Changing policy is a cluster admin's right, and one request may loosen several rules at
once; each loosening is named so the Event says exactly what production now allows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def _is_marker(values: Any) -> bool:
    # Kopf's last-handled spec keeps large values as {"$digest": …} or {"$generation": …}
    # (flowops.diffbase); a value's name starts with a letter.
    return isinstance(values, Mapping) and any(str(name).startswith("$") for name in values)


def values_changed(old: Spec, new: Spec) -> list[str] | None:
    """The names in spec.values the change from `old` to `new` sets, changes or removes;
    None when either side holds only a marker of the values (which names changed is unknown)."""
    before, after = (old or {}).get("values") or {}, (new or {}).get("values") or {}
    if _is_marker(before) or _is_marker(after):
        return None
    return sorted(str(n) for n in set(before) | set(after) if before.get(n) != after.get(n))


def values_told(changed: Sequence[str], old: Spec, new: Spec, who: str, clients: int) -> str | None:
    """What a change of a protected environment's values (the names `changed`) tells; None
    when there is nothing to tell.

    Values are rendered into what clients are served without a Promotion, so in a protected
    environment the change is told like a loosening: the names and the writer, never the
    contents (a value may be a URL nobody should read in an Event). `clients`: how many
    ApiClients' ConfigMaps use one of the changed values."""
    if not changed or not (policy.protected(old) or policy.protected(new)):
        return None
    what = f"spec.values {', '.join(changed)} changed by {who}"
    served = f"{clients} ApiClient{'' if clients == 1 else 's'}"
    frozen = policy.freeze(new)
    if frozen is not None:
        reason = frozen.get("reason")
        return (
            f"{what} while the environment is frozen{f' ({reason})' if reason else ''}: {served} keep what they "
            "serve until the freeze is lifted, then are served the new values without a Promotion"
        )
    return f"{what}: served to {served} without a Promotion"
