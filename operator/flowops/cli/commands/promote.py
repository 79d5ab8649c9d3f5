"""Promotions: `promote` between environments, `rollback` and `copy` within one, `approve`."""

from __future__ import annotations

import argparse
from typing import Any

from ...domain.versionid import Selector
from ...kube import FLOWS, PROMOTIONS, Conflict, NotFound
from .. import promotions
from ..documents import resolve_version
from ..environments import Environment
from ..errors import UserError
from ..parser import add_command, add_wait_options, committed_version, part_pointer, version_selector
from ..refs import check_flow_name
from ..session import Session


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    promote = add_command(
        commands,
        common,
        "promote",
        "copy a flow version into another environment",
        "Create a Promotion in the target environment, show its plan (the JSON Pointer changes it\n"
        "applies) and follow it to the end; prints the version it created. With --review the plan\n"
        "waits for `kubectl flowops approve`. The target's guardrails must pass, else nothing is\n"
        "written and the command exits 1 naming each broken rule.\n\n"
        "  kubectl flowops promote standard --from staging --to production\n"
        "  kubectl flowops promote standard --to production   # from production's upstream\n"
        "  kubectl flowops promote standard --from development --to staging --include /translations/de\n"
        "  kubectl flowops promote standard --to production --dry-run=client -o yaml > promotion.yaml   # for git\n\n"
        "The source version is always pinned (HEAD is resolved when the command runs). Into an\n"
        "environment that requires review, --review is implied. --dry-run=client prints the Promotion\n"
        "instead of creating it, named after what it promotes and pinned by content hash (the same in\n"
        "every cluster), ready to commit: applying it again promotes nothing twice.",
    )
    promote.add_argument("flow", metavar="FLOW")
    promote.add_argument(
        "--from", dest="source", metavar="ENV", help="environment to promote from (default: the target's upstream)"
    )
    promote.add_argument("--to", dest="target", metavar="ENV", help="environment to promote to (default: -n)")
    promote.add_argument("--as", dest="target_flow", metavar="NAME", help="name of the flow in the target (default: FLOW)")
    promote.add_argument(
        "--version", type=version_selector, default="HEAD", metavar="SEL", help="version to promote (default HEAD)"
    )
    promote.add_argument(
        "--include",
        action="extend",
        nargs="+",
        type=part_pointer("--include"),
        default=[],
        metavar="PTR",
        help="promote only the changes at or below these JSON Pointers",
    )
    promote.add_argument(
        "--exclude",
        action="extend",
        nargs="+",
        type=part_pointer("--exclude"),
        default=[],
        metavar="PTR",
        help="leave the changes at or below these JSON Pointers out",
    )
    promote.add_argument("--review", action="store_true", help="compute the plan and wait for approval before writing")
    promote.add_argument("--comment", metavar="TEXT", help="audit note, recorded as the new version's message")
    promote.add_argument(
        "--dry-run",
        dest="dry_run",
        choices=("none", "client", "server"),
        default="none",
        help="client: print the Promotion instead of creating it; server: also have the API server "
        "check it (admission included) without creating it",
    )
    promote.add_argument(
        "--pin",
        choices=("hash", "id"),
        default="hash",
        help="how --dry-run names the source version: content hash (default, the same in every cluster) or version id",
    )
    add_wait_options(promote, "5m", "the promotion")
    promote.set_defaults(run=run_promote)

    rollback = add_command(
        commands,
        common,
        "rollback",
        "make an older version HEAD again (a Promotion within the environment)",
        "Promote an older version of FLOW within its environment (-n): the old content becomes a new\n"
        "version and HEAD. Works in protected environments, where flows cannot be edited directly.",
    )
    rollback.add_argument("flow", metavar="FLOW")
    rollback.add_argument(
        "--to",
        dest="version",
        type=committed_version("rollback goes to a committed version: name its number or id"),
        required=True,
        metavar="VERSION",
        help="the version to go back to",
    )
    rollback.add_argument("--comment", metavar="TEXT", help="message of the new version (default: rollback to version N)")
    rollback.add_argument("--review", action="store_true", help="wait for approval before writing")
    add_wait_options(rollback, "5m", "the rollback")
    rollback.set_defaults(run=run_rollback)

    copy = add_command(
        commands,
        common,
        "copy",
        "copy a flow to a new name in the same environment",
        "Flows cannot be renamed: copy one to NEW (a Promotion within the environment that fails if\n"
        "NEW exists). History is not copied; NEW starts at version 1 with the copy's provenance.",
    )
    copy.add_argument("flow", metavar="FLOW")
    copy.add_argument("new", metavar="NEW")
    copy.add_argument("--version", type=version_selector, default="HEAD", metavar="SEL", help="version to copy (default HEAD)")
    copy.add_argument("--comment", metavar="TEXT", help="message of the new flow's first version")
    add_wait_options(copy, "5m", "the copy")
    copy.set_defaults(run=run_copy)

    approve = add_command(
        commands,
        common,
        "approve",
        "approve a reviewed Promotion and follow it to the end",
        "Approve PROMOTION (in the environment -n) after showing its plan; it then writes the target.",
    )
    approve.add_argument("promotion", metavar="PROMOTION")
    add_wait_options(approve, "5m", "the promotion")
    approve.set_defaults(run=run_approve)


def _managed(env: Environment, role: str) -> Environment:
    if not env.managed:
        raise UserError(f"namespace {env.namespace} belongs to no Environment: promotions go between Environments ({role})")
    return env


def _source_version(session: Session, env: Environment, flow: str, selector: Selector, pin: str = "id") -> tuple[str, str]:
    """(spec text, description): the resolved id (or content hash), so the Promotion records
    exactly what was seen."""
    if selector.kind == "uncommitted":
        if env.protected:
            raise UserError(f"uncommitted is never promoted from protected environment {env.name}: pick a version")
        session.flow(env, flow)
        return "uncommitted", "uncommitted changes"
    ref = resolve_version(session, env, session.flow(env, flow), selector)
    assert ref is not None
    pinned = ref.content_hash if pin == "hash" and ref.content_hash else ref.id
    return pinned, f"version {ref.number} ({ref.id})"


def run_promote(session: Session, args: argparse.Namespace) -> int:
    flow = check_flow_name(args.flow, command="promote", version_flag="--version", environment_flag="--from")
    target_flow = check_flow_name(
        args.target_flow or flow,
        "target flow name",
        command="promote --as",
        version_flag="--version",
        environment_flag="--to",
    )
    if args.target:
        target = session.environment(args.target)
    elif session.namespace:
        target = session.current_environment()
    else:
        raise UserError("promote needs a target: --to ENVIRONMENT")
    target = _managed(target, "--to")
    if args.source:
        source = _managed(session.environment(args.source), "--from")
    elif target.upstream:
        source = _managed(session.environment(target.upstream), "--from")
    else:
        raise UserError(f"environment {target.name} has no upstream: say where to promote from with --from ENVIRONMENT")
    dry_run = args.dry_run != "none"
    version, described = _source_version(session, source, flow, args.version, args.pin if dry_run else "id")
    review = args.review or target.review_required
    if review and not args.review and not dry_run:
        session.output.note(f"environment {target.name} requires review: the promotion waits for approval")
    body = promotions.body(
        source=source,
        flow=flow,
        version=version,
        target=target,
        target_flow=target_flow,
        include=args.include,
        exclude=args.exclude,
        comment=args.comment,
        review=review,
    )
    if dry_run:
        return promotions.dry_run(session, target, body, described, server=args.dry_run == "server")
    return promotions.run(session, target, body, args.wait, args.timeout)


def run_rollback(session: Session, args: argparse.Namespace) -> int:
    flow_name = check_flow_name(args.flow, command="rollback", version_flag="--to")
    env = _managed(session.current_environment(), "-n")
    flow = session.flow(env, flow_name)
    ref = resolve_version(session, env, flow, args.version)
    assert ref is not None
    if ref.id == (flow.get("status") or {}).get("latestReadyVersion"):
        session.output.note(
            f"flow {flow_name} in environment {env.name} is already at version {ref.number} ({ref.id}): nothing to roll back"
        )
        return 0
    body = promotions.body(
        source=env,
        flow=flow_name,
        version=ref.id,
        target=env,
        target_flow=flow_name,
        comment=args.comment or f"rollback to version {ref.number} ({ref.id})",
        review=args.review or env.review_required,
    )
    return promotions.run(session, env, body, args.wait, args.timeout)


def run_copy(session: Session, args: argparse.Namespace) -> int:
    flow_name = check_flow_name(args.flow, command="copy", version_flag="--version")
    new = check_flow_name(args.new, "new flow name", command="copy NEW", version_flag="--version")
    if new == flow_name:
        raise UserError("copy needs a different name for the new flow")
    env = _managed(session.current_environment(), "-n")
    version, described = _source_version(session, env, flow_name, args.version)
    if session.kube.get_or_none(FLOWS, new, env.namespace) is not None:
        raise UserError(f"flow {new} already exists in environment {env.name}: pick another name (or promote into it)")
    body = promotions.body(
        source=env,
        flow=flow_name,
        version=version,
        target=env,
        target_flow=new,
        if_target_exists="Fail",
        review=env.review_required,
        comment=args.comment or f"copy of {flow_name} {described}",
    )
    return promotions.run(session, env, body, args.wait, args.timeout)


def _awaiting(session: Session, env: Environment) -> list[str]:
    items = session.kube.list(PROMOTIONS, env.namespace)
    return sorted(p["metadata"]["name"] for p in items if (p.get("status") or {}).get("phase") == "AwaitingApproval")


def run_approve(session: Session, args: argparse.Namespace) -> int:
    env = _managed(session.current_environment(), "-n")
    try:
        obj: dict[str, Any] = session.kube.get(PROMOTIONS, args.promotion, env.namespace)
    except NotFound:
        waiting = _awaiting(session, env)
        raise UserError(
            f"promotion {args.promotion!r} not found in environment {env.name} (namespace {env.namespace})",
            hint=f"awaiting approval there: {', '.join(waiting)}" if waiting else "no promotion awaits approval there",
        ) from None
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = status.get("phase") or "Pending"
    if phase in promotions.TERMINAL:
        session.output.note(f"promotion {args.promotion} has already finished ({phase})")
        return promotions.finish(session, env, obj)
    if not spec.get("review"):
        raise UserError(f"promotion {args.promotion} was not created for review: it needs no approval")
    out = session.output
    if not spec.get("approved"):
        target_flow = promotions.summary(obj)["targetFlow"]
        for line in promotions.plan_lines(status.get("plan"), f"{env.name}/{target_flow}"):
            out.progress(line)
        # The approval is of exactly what was just shown: if the Promotion changed since (its
        # plan re-made, or deleted and created again with another spec), nothing is approved.
        approval = {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]}, "spec": {"approved": True}}
        try:
            session.kube.merge_patch(PROMOTIONS, args.promotion, approval, env.namespace)
        except (Conflict, NotFound):
            raise UserError(
                f"promotion {args.promotion} changed after its plan was shown, and was not approved",
                hint=f"run kubectl flowops approve {args.promotion} -n {env.name} again to review what it is now",
            ) from None
        out.progress(f"promotion {args.promotion} approved")
    if args.wait is False:
        return 0
    final = promotions.follow(session, env, args.promotion, args.timeout, until_approval=False, plan_shown=True, last_phase=phase)
    return promotions.finish(session, env, final)
