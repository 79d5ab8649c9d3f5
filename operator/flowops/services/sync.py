"""Out-of-sync report: each flow's HEAD against the same-named flow's HEAD upstream."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..domain import diff, flowstatus, values
from ..domain.commit import VersionRecord
from ..kube import FLOWS, Conflict, Kube, NotFound
from ..lru import BoundedLRU
from ..runtime import Runtime
from . import versions
from .common import RetryLater
from .statuswrite import replace_over

EnvLookup = Callable[[str], Mapping[str, Any] | None]

# Differing-path counts by (hash, hash): both documents are immutable versions.
_counts: BoundedLRU[tuple[str, str], int] = BoundedLRU(1024)


Reader = Callable[[str, VersionRecord], Any]  # (namespace, version) -> its document


def _count(read: Reader, a: tuple[str, VersionRecord], b: tuple[str, VersionRecord], key: tuple[str, str]) -> int:
    held = _counts.get(key)
    if held is not None:
        return held
    count = diff.changed_paths_count(read(*a), read(*b))
    _counts.add(key, count)
    return count


_preserved: BoundedLRU[tuple[str, ...], tuple[int, int]] = BoundedLRU(1024)


def _preserved_count(
    read: Reader, up: tuple[str, VersionRecord], own: tuple[str, VersionRecord], key: tuple[str, ...]
) -> tuple[int, int]:
    held = _preserved.get(key)
    if held is not None:
        return held
    result = values.sync_view(read(*own), read(*up), key[2:])
    _preserved.add(key, result)
    return result


def _head(kube: Kube, namespace: str, flow: str, uid: str | None) -> VersionRecord | None:
    """HEAD of the flow that exists now: a deleted namesake's versions linger until garbage
    collection (or for good, when retained) and must not stand for it."""
    if uid is None:
        found = kube.get_metadata(FLOWS, flow, namespace)
        if found is None:
            return None
        uid = found["metadata"]["uid"]
    return flowstatus.head_of(versions.list_records(kube, namespace, flow, owner_uid=uid))


def compute(
    kube: Kube, namespace: str, flow: str, env: Mapping[str, Any] | None, env_by_name: EnvLookup, uid: str | None = None
) -> dict[str, Any] | None:
    """`uid`: the flow's own uid when the caller has its body (else it is read)."""
    upstream, up_env = upstream_of(env, env_by_name)
    if not upstream:
        return None
    own = _head(kube, namespace, flow, uid)
    if up_env is None:
        return {
            "upstream": upstream,
            "state": "UpstreamMissing",
            "differingPaths": 0,
            "version": own.id if own else None,
            "upstreamVersion": None,
        }
    theirs = _head(kube, up_env["spec"]["namespace"], flow, None)

    def read(version_namespace: str, record: VersionRecord) -> Any:
        return versions.read_version(kube, version_namespace, flow, record)

    return _report(upstream, up_env, env, namespace, own, theirs, read)


class _Unread(Exception):
    """A document the report needs and the caller does not hold."""


def known_report(
    env: Mapping[str, Any],
    up_env: Mapping[str, Any],
    own: VersionRecord | None,
    theirs: VersionRecord | None,
    documents: Mapping[str, Any],
) -> dict[str, Any] | None:
    """The report of a flow whose HEAD (`own`) and upstream HEAD (`theirs`, in `up_env`)
    the caller has just read under the flow's lock, from the documents it holds (by content
    hash) and the counts made before. None when telling it would take a read."""

    def held(_: str, record: VersionRecord) -> Any:
        if record.content_hash not in documents:
            raise _Unread(record.content_hash)
        return documents[record.content_hash]

    try:
        return _report(up_env["metadata"]["name"], up_env, env, env["spec"]["namespace"], own, theirs, held)
    except _Unread:
        return None


def _report(
    upstream: str,
    up_env: Mapping[str, Any],
    env: Mapping[str, Any] | None,
    own_ns: str,
    own: VersionRecord | None,
    theirs: VersionRecord | None,
    read: Reader,
) -> dict[str, Any]:
    base = {"upstream": upstream, "version": own.id if own else None, "upstreamVersion": theirs.id if theirs else None}
    if theirs is None:
        return {**base, "state": "UpstreamMissing", "differingPaths": 0}
    if own is not None and own.content_hash == theirs.content_hash:
        return {**base, "state": "InSync", "differingPaths": 0}
    if own is None:
        return {**base, "state": "OutOfSync", "differingPaths": 0}
    up_ns = up_env["spec"]["namespace"]
    patterns = values.preserved_paths(env)
    if patterns:  # parts this environment owns do not make it out of sync
        differing, kept = _preserved_count(
            read, (up_ns, theirs), (own_ns, own), (theirs.content_hash, own.content_hash, *patterns)
        )
        return {**base, "state": "OutOfSync" if differing else "InSync", "differingPaths": differing, "preservedPaths": kept}
    count = _count(read, (up_ns, theirs), (own_ns, own), (theirs.content_hash, own.content_hash))
    return {**base, "state": "OutOfSync", "differingPaths": count}


def status_patch(desired: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """status.sync as a merge patch from `current` to `desired`."""
    patch = dict(desired)
    if "preservedPaths" in (current or {}) and "preservedPaths" not in desired:
        patch["preservedPaths"] = None  # a merge patch keeps what it does not name
    return patch


def publish(
    rt: Runtime,
    namespace: str,
    flow: str,
    env: Mapping[str, Any] | None,
    env_by_name: EnvLookup,
    current: Mapping[str, Any] | None,
    uid: str | None = None,
    flow_object: Mapping[str, Any] | None = None,
    resource_version: str | None = None,
) -> None:
    """Writes status.sync only when it differs from `current` (what the flow shows at
    `resource_version`). `flow_object`: the Flow as last read or written here, if known
    (its status and version stand for `current` and `resource_version`; a cheaper write).
    Neither known: the Flow is read first.

    Under the flow's lock, which its commits hold too. Two writers make a flow's report
    (its own reconcile, and its upstream's event); without the lock one could read the
    flow before its first commit and write after the other's report made from that
    commit, leaving a report no later event corrects. Another process has no share in the
    lock: the write names the version of the Flow seen before both HEADs were read, so a
    report from older reads never lands over a newer one; the loser reads again."""
    if flow_object is not None:
        current = (flow_object.get("status") or {}).get("sync")
        resource_version = flow_object["metadata"].get("resourceVersion")
    with rt.flow_lock(namespace, flow):
        for _ in range(_PUBLISH_ATTEMPTS):
            if resource_version is None:
                flow_object = rt.kube.get_or_none(FLOWS, flow, namespace)
                if flow_object is None:
                    return
                current = (flow_object.get("status") or {}).get("sync")
                resource_version, uid = flow_object["metadata"]["resourceVersion"], flow_object["metadata"]["uid"]
            desired = compute(rt.kube, namespace, flow, env, env_by_name, uid)
            if desired is None or desired == current:
                return
            patch = status_patch(desired, current)
            try:
                if flow_object is not None:
                    replace_over(rt.kube, FLOWS, flow_object, {"sync": patch})
                else:
                    rt.kube.patch_status(FLOWS, flow, {"sync": patch}, namespace, resource_version=resource_version)
                return
            except NotFound:
                return
            except Conflict:
                resource_version = flow_object = None  # written meanwhile: read it, and the HEADs, again
        # Contention with another process, nothing for a person to do: a quiet retry, not an error.
        raise RetryLater(f"flow {namespace}/{flow}: its sync report kept being written meanwhile; retrying")


# Each attempt loses only to another write of the Flow made meanwhile.
_PUBLISH_ATTEMPTS = 5


def upstream_of(env: Mapping[str, Any] | None, env_by_name: EnvLookup) -> tuple[str | None, Mapping[str, Any] | None]:
    """The name of `env`'s upstream Environment and that Environment (None if not found)."""
    upstream = ((env or {}).get("spec") or {}).get("upstream")
    return upstream, (env_by_name(upstream) if upstream else None)


def downstream_of(env_name: str, environments: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in environments if (e.get("spec") or {}).get("upstream") == env_name]
