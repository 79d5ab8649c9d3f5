"""Creating Promotions and following them to the end, with the plan and each phase shown."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.text import Text

from ..kube import PROMOTIONS
from .environments import Environment
from .errors import OperationFailed
from .formatting import change_line, plural, short_value
from .output import Output
from .session import Session

TERMINAL = ("Succeeded", "Failed")
POLL_SECONDS = 0.5
PLAN_LINES = 50  # on a terminal; the whole plan is in -o json and in the object


def body(
    *,
    source: Environment,
    flow: str,
    version: str,
    target: Environment,
    target_flow: str,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    comment: str | None = None,
    review: bool = False,
    if_target_exists: str = "Replace",
) -> dict[str, Any]:
    """A Promotion in the TARGET environment's namespace, as crds/promotion.yaml defines it."""
    spec: dict[str, Any] = {
        "source": {"environment": source.name, "flow": flow, "version": version},
        "target": {"flow": target_flow},
        "ifTargetExists": if_target_exists,
        "review": review,
    }
    if include or exclude:
        spec["changes"] = {k: list(v) for k, v in (("include", include), ("exclude", exclude)) if v}
    if comment:
        spec["comment"] = comment
    return {
        "apiVersion": PROMOTIONS.api_version,
        "kind": PROMOTIONS.kind,
        "metadata": {"generateName": f"{target_flow}-", "namespace": target.namespace},
        "spec": spec,
    }


def summary(obj: Mapping[str, Any]) -> dict[str, Any]:
    """What -o json/yaml prints: the request and its outcome."""
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
    return {
        "name": meta["name"],
        "namespace": meta.get("namespace"),
        "phase": status.get("phase") or "Pending",
        "message": status.get("message"),
        "source": spec.get("source"),
        "sourceVersion": status.get("sourceVersion"),
        "sourceNumber": status.get("sourceNumber"),
        "targetFlow": status.get("targetFlow")
        or (spec.get("target") or {}).get("flow")
        or (spec.get("source") or {}).get("flow"),
        "targetVersion": status.get("targetVersion"),
        "targetNumber": status.get("targetNumber"),
        "review": bool(spec.get("review")),
        "approved": bool(spec.get("approved")),
        "plan": status.get("plan"),
    }


def plan_lines(plan: Mapping[str, Any] | None, target: str, limit: int = PLAN_LINES) -> list[Text]:
    if not plan:
        return []
    changes = plan.get("changes") or []
    total = int(plan.get("total", len(changes)))
    lines = [Text(f"plan: {plural(total, 'change')} to {target}" if total else f"plan: no changes to {target}", style="bold")]
    lines += [Text("  ").append_text(change_line(c)) for c in changes[:limit]]
    hidden = total - min(len(changes), limit)
    if hidden > 0:
        lines.append(Text(f"  … and {hidden} more (the whole plan: -o json)", style="dim"))
    kept = plan.get("preserved") or []
    if kept:
        lines.append(Text(f"kept: {plural(len(kept), 'part')} the target environment owns (spec.preservedPaths)", style="bold"))
        for part in kept[:limit]:
            line = Text("  = ").append(str(part.get("path")), style="bold").append("  ").append(short_value(part.get("value")))
            if "offered" in part:
                line.append(f"  (source: {short_value(part['offered'])})", style="dim")
            lines.append(line)
    return lines + impact_lines(plan.get("impact"))


def impact_lines(impact: Mapping[str, Any] | None) -> list[Text]:
    """Who the change reaches: HEAD followers switch at once, pinned users do not."""
    if impact is None:
        return []
    following, pinned = impact.get("followingHead") or [], impact.get("pinned") or []
    if not following and not pinned:
        return [Text("impact: no ApiClient or Application uses this flow here", style="dim")]
    lines = [Text("impact:", style="bold")]
    if following:
        lines.append(Text("  switch at once (follow HEAD): " + ", ".join(f"{u['kind']}/{u['name']}" for u in following)))
    if pinned:
        lines.append(
            Text(
                "  unaffected (pinned): " + ", ".join(f"{u['kind']}/{u['name']}@{u.get('version')}" for u in pinned), style="dim"
            )
        )
    return lines


def outcome_line(obj: Mapping[str, Any], target: Environment) -> str:
    s = summary(obj)
    source = s["source"] or {}
    picked = f"@{s['sourceNumber']}" if s["sourceNumber"] else f"@{s['sourceVersion']}" if s["sourceVersion"] else ""
    what = f"{source.get('environment')}/{source.get('flow')}{picked}"
    where = f"{target.name}/{s['targetFlow']}"
    if s["targetVersion"]:
        number = f"version {s['targetNumber']} " if s["targetNumber"] else ""
        return f"promoted {what} to {where}: {number}({s['targetVersion']})"
    return f"promoted {what} to {where}: {s['message'] or 'nothing to change'}"


def follow(
    session: Session,
    target: Environment,
    name: str,
    timeout: float,
    *,
    until_approval: bool,
    plan_shown: bool = False,
    last_phase: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the Promotion, printing each new phase and the plan once known, until it ends
    (or awaits approval when `until_approval`)."""
    out: Output = session.output
    deadline = time.monotonic() + timeout
    while True:
        obj = session.kube.get(PROMOTIONS, name, target.namespace)
        status = obj.get("status") or {}
        phase = status.get("phase") or "Pending"
        if status.get("plan") and not plan_shown:
            plan_shown = True
            target_flow = summary(obj)["targetFlow"]
            for line in plan_lines(status["plan"], f"{target.name}/{target_flow}"):
                out.progress(line)
        if phase != last_phase:
            last_phase = phase
            detail = f": {status['message']}" if status.get("message") and phase not in TERMINAL else ""
            out.progress(Text(f"promotion {name}: {phase}{detail}", style="dim" if phase not in TERMINAL else ""))
        if phase in TERMINAL or (until_approval and phase == "AwaitingApproval"):
            return obj
        if time.monotonic() >= deadline:
            raise OperationFailed(
                f"promotion {name} is still {phase} after {int(timeout)}s",
                hint=f"it goes on in the cluster: kubectl get promotion {name} -n {target.namespace}"
                + ("" if phase != "Pending" else " (Pending for long: is the flowops operator running?)"),
            )
        sleep(POLL_SECONDS)


def finish(session: Session, target: Environment, obj: Mapping[str, Any]) -> int:
    """Print the result; a failed promotion is exit 1 with the operator's reason."""
    out = session.output
    s = summary(obj)
    if out.structured:
        out.data(s)
    if s["phase"] == "Failed":
        raise OperationFailed(f"promotion {s['name']} failed: {s['message'] or 'no reason given'}")
    if s["phase"] == "AwaitingApproval":
        if not out.structured:
            out.line(f"promotion {s['name']} awaits approval: kubectl flowops approve {s['name']} -n {target.name}")
        return 0
    if s["phase"] == "Succeeded" and not out.structured:
        out.line(outcome_line(obj, target))
    return 0


def pinned_name(promotion: Mapping[str, Any], described: str) -> str:
    """A stable name for a Promotion kept in git: what it promotes, from where, which version.
    Re-applying it (or applying it to a cluster rebuilt from git) promotes nothing twice."""
    spec = promotion["spec"]
    number = described.split()[1] if described.startswith("version ") else "uncommitted"
    name = f"{spec['target']['flow']}-from-{spec['source']['environment']}-v{number}"
    return name[:253].strip("-.")


def dry_run(session: Session, target: Environment, promotion: dict[str, Any], described: str, server: bool = False) -> int:
    """Print the Promotion (named, pinned) instead of creating it, like kubectl --dry-run."""
    body = {**promotion, "metadata": {"name": pinned_name(promotion, described), "namespace": target.namespace}}
    if server:
        checked = session.kube.create(PROMOTIONS, body, target.namespace, dry_run=True)
        body = {key: checked[key] for key in ("apiVersion", "kind") if key in checked}
        # Identities are the API server's to record when it is really applied.
        body["spec"] = {k: v for k, v in checked["spec"].items() if k not in ("requestedBy", "approvedBy")}
        body["metadata"] = {"name": checked["metadata"]["name"], "namespace": target.namespace}
    out = session.output
    if out.structured:
        out.data(body)
    else:
        out.line(
            f"promotion.flowops.io/{body['metadata']['name']} created ({'server' if server else 'client'} dry run): "
            f"{described} of {promotion['spec']['source']['environment']}/{promotion['spec']['source']['flow']}"
        )
        out.note("print it with -o yaml (e.g. to commit it to git)")
    return 0


def create(session: Session, target: Environment, promotion: dict[str, Any]) -> dict[str, Any]:
    created = session.kube.create(PROMOTIONS, promotion, target.namespace)
    session.output.progress(
        f"promotion.flowops.io/{created['metadata']['name']} created in environment {target.name} (namespace {target.namespace})"
    )
    return created


def run(session: Session, target: Environment, promotion: dict[str, Any], wait: bool | None, timeout: float) -> int:
    """Create, then follow: to the end, or to the approval step for a review; --no-wait returns at once."""
    created = create(session, target, promotion)
    name = created["metadata"]["name"]
    if wait is False:
        if session.output.structured:
            session.output.data(summary(created))
        else:
            session.output.line(f"follow it with: kubectl get promotion {name} -n {target.namespace} -w")
        return 0
    review = bool(promotion["spec"].get("review"))
    final = follow(session, target, name, timeout, until_approval=review and wait is None)
    return finish(session, target, final)
