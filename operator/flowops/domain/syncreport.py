"""Whether a flow's out-of-sync report (status.sync) still holds, decided without an API
call from what the operator already knows (pure).

At a restart every flow resumes, and the upstream namesake's HEAD is known only once its
own watch event has been seen: the watch does not order flows by the chain. A resumed flow
whose upstream is listed but not seen yet waits for that event instead of listing
versions; the event then checks the waiting report against the HEAD it carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

# What the operator knows of a flow (here: the upstream namesake):
#   known   - its event was seen; head is its status.latestReadyVersion (None: no ready version)
#   absent  - the upstream namespace was listed and the flow is not there (or was deleted since)
#   awaited - listed, its event not seen yet: it will come
#   unlisted - the upstream namespace was never listed: nothing to go by
Known = Literal["known", "absent", "awaited", "unlisted"]
Decision = Literal["current", "stale", "await"]


def own_side_current(status: Mapping[str, Any] | None, upstream: str, preserved: bool) -> bool:
    """The report names this upstream, this flow's own HEAD, and the environment's
    preserved-paths shape (a report without `preservedPaths` predates or ignores them)."""
    status = status or {}
    report = status.get("sync") or {}
    return (
        report.get("upstream") == upstream
        and report.get("version") == status.get("latestReadyVersion")
        and preserved == ("preservedPaths" in report)
    )


def names_upstream_head(report: Mapping[str, Any] | None, head: str | None) -> bool:
    return head is not None and head == (report or {}).get("upstreamVersion")


def on_resume(
    status: Mapping[str, Any] | None,
    upstream: str | None,
    preserved: bool,
    upstream_environment_exists: bool,
    known: Known,
    head: str | None,
) -> Decision:
    """`current`: nothing to write; `stale`: recompute and publish the report now;
    `await`: the upstream's event will check it (see `on_upstream_event`)."""
    if not upstream:
        return "current"  # no report to make
    if not own_side_current(status, upstream, preserved) or not upstream_environment_exists:
        return "stale"
    if known == "awaited":
        return "await"
    if known != "known":
        return "stale"  # absent: its versions may linger, only a recompute says UpstreamMissing
    return "current" if names_upstream_head((status or {}).get("sync"), head) else "stale"


def on_upstream_event(report: Mapping[str, Any] | None, head: str | None) -> Decision:
    """A waiting downstream report, when its upstream's event arrives with `head`."""
    return "current" if names_upstream_head(report, head) else "stale"
