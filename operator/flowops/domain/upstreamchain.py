"""Which Environments an Environment's upstream chain reaches (pure).

An Environment's status says whether its chain is valid; that depends on every
Environment the chain passes through, so when one of them comes, goes or changes its
spec.upstream, the Environments whose chains pass through it are reconciled again.
"""

from __future__ import annotations

from collections.abc import Mapping

# Beyond this the chain is reported as too long anyway (services/environments.chain_check).
LIMIT = 64


def passes_through(name: str, upstream_of: Mapping[str, str | None], limit: int = LIMIT) -> list[str]:
    """The names `name`'s chain reaches, nearest first; it stops at a missing Environment
    (which is included: its creation changes the verdict) and at a cycle."""
    reached: list[str] = []
    upstream = upstream_of.get(name)
    while upstream and upstream != name and upstream not in reached and len(reached) <= limit:
        reached.append(upstream)
        upstream = upstream_of.get(upstream)
    return reached


def dependents(name: str, upstream_of: Mapping[str, str | None], limit: int = LIMIT) -> list[str]:
    """The other Environments (keys of `upstream_of`, each with its spec.upstream) whose
    chain passes through `name`, whether `name` exists or not; sorted."""
    return sorted(other for other in upstream_of if other != name and name in passes_through(other, upstream_of, limit))
