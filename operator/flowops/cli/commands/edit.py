"""Writes to a Flow as the user: `restore` old content, `commit` uncommitted changes (Manual mode)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from ... import names
from ...domain.canonical import content_hash
from ...domain.commit import VersionRecord, latest_of
from ...domain.pointer import child
from ...kube import FLOWS, Forbidden
from ...services import versions
from ..documents import resolve_version
from ..environments import Environment
from ..errors import Denied, OperationFailed, UserError
from ..parser import add_command, add_wait_options, committed_version
from ..polling import poll
from ..refs import check_flow_name
from ..session import Session


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    restore = add_command(
        commands,
        common,
        "restore",
        "write an old version's content back into the flow",
        "Replace FLOW's spec.content with the content of VERSION, as you (your RBAC applies), so it\n"
        "becomes the next version (Auto mode) or uncommitted changes (Manual mode). Only in\n"
        "unprotected environments; in protected ones use `kubectl flowops rollback`.",
    )
    restore.add_argument("flow", metavar="FLOW")
    restore.add_argument(
        "--to",
        dest="version",
        type=committed_version("restore takes a committed version: name its number or id"),
        required=True,
        metavar="VERSION",
        help="the version whose content to restore",
    )
    restore.add_argument("-m", "--message", metavar="TEXT", help="change message (default: restore version N)")
    add_wait_options(restore, "1m", "the new version")
    restore.set_defaults(run=run_restore)

    commit = add_command(
        commands,
        common,
        "commit",
        "commit a Manual-mode flow's uncommitted changes as a version",
        "Set the flowops.io/commit annotation of FLOW to MESSAGE: the operator commits the current\n"
        "spec.content once as a new version with that message.",
    )
    commit.add_argument("flow", metavar="FLOW")
    commit.add_argument("-m", "--message", required=True, metavar="MESSAGE", help="the commit message")
    add_wait_options(commit, "1m", "the new version")
    commit.set_defaults(run=run_commit)


def _mode(flow: Mapping[str, Any]) -> str:
    return ((flow.get("spec") or {}).get("versioning") or {}).get("mode") or "Auto"


def _denied(exc: Forbidden, env: Environment, flow: str, version: str | None = None) -> Denied:
    hint = None
    if env.protected and version:
        hint = f"environment {env.name} is protected; to go back to that version there, use: kubectl flowops rollback {flow} --to {version} -n {env.name}"
    return Denied(exc.message, hint=hint)


def _wait_for_version(
    session: Session, env: Environment, flow: str, wanted: Callable[[VersionRecord], bool], timeout: float
) -> VersionRecord | None:
    """The newest version matching `wanted` once its guardrail verdict is in."""

    def check() -> VersionRecord | None:
        found = [r for r in versions.list_records(session.kube, env.namespace, flow) if wanted(r)]
        newest = max(found, key=lambda r: r.number, default=None)
        return newest if newest is not None and newest.ready is not None else None

    return poll(check, timeout)


def _report(session: Session, env: Environment, flow: str, record: VersionRecord, what: str, timeout: float) -> int:
    # The version exists before the Flow's status names it (two writes): report HEAD from a
    # status that has caught up, else from the newest one seen.
    def caught_up() -> Mapping[str, Any] | None:
        found = session.kube.get(FLOWS, flow, env.namespace)
        return found if ((found.get("status") or {}).get("latestCreatedNumber") or 0) >= record.number else None

    current = poll(caught_up, timeout) or session.kube.get(FLOWS, flow, env.namespace)
    head_id = (current.get("status") or {}).get("latestReadyVersion")
    if not record.ready:
        head_number = (current.get("status") or {}).get("latestReadyNumber")
        kept = f"HEAD stays at version {head_number} ({head_id})" if head_id else "there is no HEAD yet"
        raise OperationFailed(f"{what}: version {record.number} ({record.id}) failed guardrails; {kept}. {record.guardrails}")
    suffix = " and is HEAD" if record.id == head_id else ""
    session.output.line(f"{what}: version {record.number} ({record.id}){suffix}")
    return 0


def run_restore(session: Session, args: argparse.Namespace) -> int:
    flow_name = check_flow_name(args.flow, command="restore", version_flag="--to")
    env = session.current_environment()
    flow = session.flow(env, flow_name)
    ref = resolve_version(session, env, flow, args.version)
    assert ref is not None
    document = versions.read_document(session.kube, env.namespace, flow_name, ref.id)
    digest = content_hash(document)
    if digest == content_hash((flow.get("spec") or {}).get("content") or {}):
        session.output.note(
            f"flow {flow_name} in environment {env.label} already has the content of version {ref.number}: nothing to restore"
        )
        return 0
    message = args.message or f"restore version {ref.number} ({ref.id})"
    annotations = flow["metadata"].get("annotations") or {}
    ops: list[dict[str, Any]] = [{"op": "replace", "path": "/spec/content", "value": document}]
    if annotations:
        ops.append({"op": "add", "path": child("/metadata/annotations", names.ANN_CHANGE_CAUSE), "value": message})
    else:
        ops.append({"op": "add", "path": "/metadata/annotations", "value": {names.ANN_CHANGE_CAUSE: message}})
    before = max((r.number for r in session.records(env, flow_name)), default=0)
    try:
        session.kube.json_patch(FLOWS, flow_name, ops, env.namespace)
    except Forbidden as exc:
        raise _denied(exc, env, flow_name, str(ref.number)) from None
    what = f"flow {flow_name} in environment {env.label} restored to the content of version {ref.number}"
    out = session.output
    if _mode(flow) == "Manual":
        out.line(f"{what} (uncommitted): commit it with kubectl flowops commit {flow_name} -m MESSAGE -n {env.name}")
        return 0
    if args.wait is False:
        out.line(f"{what}; the operator commits it as the next version")
        return 0
    record = _wait_for_version(session, env, flow_name, lambda r: r.number > before and r.content_hash == digest, args.timeout)
    if record is None:
        raise OperationFailed(
            f"{what}, but no new version appeared within {int(args.timeout)}s: is the flowops operator running?"
        )
    return _report(session, env, flow_name, record, what, args.timeout)


def run_commit(session: Session, args: argparse.Namespace) -> int:
    flow_name = check_flow_name(args.flow, command="commit", usage_tail=" -m MESSAGE")
    message = args.message.strip()
    if not message:
        raise UserError("the commit message is empty: say what changed with -m")
    env = session.current_environment()
    flow = session.flow(env, flow_name)
    if _mode(flow) != "Manual":
        raise UserError(
            f"flow {flow_name} commits every change itself (spec.versioning.mode is {_mode(flow)}): nothing to commit by hand",
            hint=f"to set the message of the next change, annotate it: kubectl annotate flow {flow_name} {names.ANN_CHANGE_CAUSE}=... -n {env.namespace}",
        )
    latest = latest_of(session.records(env, flow_name))
    if latest is not None and latest.content_hash == content_hash((flow.get("spec") or {}).get("content") or {}):
        session.output.line(
            f"nothing to commit: flow {flow_name} in environment {env.label} is version {latest.number} ({latest.id})"
        )
        return 0
    if latest is not None and latest.commit_request == message:
        raise UserError(f"version {latest.number} was committed with this message: use a different message")
    try:
        session.kube.merge_patch(FLOWS, flow_name, {"metadata": {"annotations": {names.ANN_COMMIT: message}}}, env.namespace)
    except Forbidden as exc:
        raise _denied(exc, env, flow_name) from None
    what = f"committed flow {flow_name} in environment {env.label}"
    if args.wait is False:
        session.output.line(f"commit of flow {flow_name} requested: {message}")
        return 0
    before = latest.number if latest else 0
    record = _wait_for_version(session, env, flow_name, lambda r: r.number > before and r.commit_request == message, args.timeout)
    if record is None:
        raise OperationFailed(
            f"commit requested, but no version appeared within {int(args.timeout)}s: is the flowops operator running?"
        )
    return _report(session, env, flow_name, record, what, args.timeout)
