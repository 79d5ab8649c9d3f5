"""A sync report is written naming the Flow's resourceVersion seen before both HEADs were
read: another process shares no lock with this one, and a report from older reads must
never land over the report it wrote meanwhile."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowops.kube import Conflict
from flowops.runtime import Runtime
from flowops.services import sync
from flowops.services.common import RetryLater
from flowops.testing.objects import listed_version

ENVS = {"dev": {"metadata": {"name": "dev"}, "spec": {"namespace": "ns-dev"}}}
STAGING = {"metadata": {"name": "staging"}, "spec": {"namespace": "ns-staging", "upstream": "dev"}}


def _version(number: int, owner: str) -> dict:
    # One content throughout: each report differs only in the upstream HEAD it names.
    return listed_version("login", number, owner, "sha256:same", f"v{number}")


def report(upstream_version: str) -> dict:
    return {"upstream": "dev", "version": "v1", "upstreamVersion": upstream_version, "state": "InSync", "differingPaths": 0}


class Cluster:
    """Staging's login (HEAD v1) against dev's login, whose HEAD moves when told; every
    status write is checked against the stored resourceVersion, as the API server does."""

    def __init__(self, upstream_head: int, shown: dict | None) -> None:
        self.upstream_head = upstream_head
        self.flow = {
            "metadata": {"name": "login", "namespace": "ns-staging", "uid": "staging-uid", "resourceVersion": "10"},
            "status": {"latestReadyVersion": "v1", "sync": shown},
        }
        self.writes: list[tuple[str, dict]] = []
        self.requests: list[str] = []
        self.on_upstream_list: Any = None  # runs once, as the upstream's versions are listed

    def list(self, resource: Any, namespace: str, label_selector: str = "", metadata_only: bool = False) -> list[dict]:
        if namespace == "ns-staging":
            return [_version(1, "staging-uid")]
        if self.on_upstream_list is not None:  # after the list was made: this process read the older HEAD
            step, self.on_upstream_list = self.on_upstream_list, None
            listed = [_version(n, "dev-uid") for n in range(1, self.upstream_head + 1)]
            step()
            return listed
        return [_version(n, "dev-uid") for n in range(1, self.upstream_head + 1)]

    def get_metadata(self, resource: Any, name: str, namespace: str) -> dict:
        return {"metadata": {"name": name, "uid": "dev-uid" if namespace == "ns-dev" else "staging-uid"}}

    def get_or_none(self, resource: Any, name: str, namespace: str) -> dict:
        self.requests.append("get")
        return copy.deepcopy(self.flow)

    def _write(self, how: str, sync_state: dict, resource_version: str) -> dict:
        self.requests.append(how)
        if resource_version != self.flow["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.writes.append((how, sync_state))
        self.flow["status"]["sync"] = sync_state
        self.flow["metadata"]["resourceVersion"] = str(int(resource_version) + 1)
        return {"metadata": dict(self.flow["metadata"])}

    def replace_status(self, resource: Any, name: str, status: dict, namespace: str, resource_version: str) -> dict:
        return self._write("put", status["sync"], resource_version)

    def patch_status(self, resource: Any, name: str, status: dict, namespace: str, resource_version: str) -> dict:
        return self._write("patch", status["sync"], resource_version)

    def another_process_publishes(self, upstream_head: int) -> None:
        """Dev's HEAD moves and another process writes the report of it."""
        self.upstream_head = upstream_head
        self._write("other", report(f"v{upstream_head}"), self.flow["metadata"]["resourceVersion"])


def _publish(cluster: Cluster, **seen: Any) -> None:
    rt = Runtime(kube=cluster)  # type: ignore[arg-type]
    sync.publish(rt, "ns-staging", "login", STAGING, ENVS.get, uid="staging-uid", **seen)


def test_a_report_read_before_another_process_wrote_a_newer_one_is_never_written() -> None:
    cluster = Cluster(upstream_head=2, shown=report("v1"))
    # This process has read dev at v2; before it writes, dev moves to v3 and the other
    # process writes that report.
    cluster.on_upstream_list = lambda: cluster.another_process_publishes(3)
    _publish(cluster, current=report("v1"), resource_version="10")
    assert cluster.flow["status"]["sync"]["upstreamVersion"] == "v3"
    # Its write of v2 was refused; it read the flow and both HEADs again and found v3 shown.
    assert cluster.writes == [("other", report("v3"))]
    assert cluster.requests == ["other", "patch", "get"]


def test_from_the_flow_as_last_written_the_report_is_one_put_naming_its_version() -> None:
    cluster = Cluster(upstream_head=2, shown=report("v1"))
    _publish(cluster, current=None, flow_object=copy.deepcopy(cluster.flow))
    assert cluster.requests == ["put"]
    assert cluster.flow["status"]["sync"]["upstreamVersion"] == "v2"
    assert cluster.flow["status"]["latestReadyVersion"] == "v1", "the rest of the status is kept"


def test_without_a_version_seen_the_flow_is_read_first() -> None:
    cluster = Cluster(upstream_head=2, shown=report("v1"))
    _publish(cluster, current=None)
    assert cluster.requests == ["get", "put"]
    assert cluster.writes == [("put", report("v2"))]


def test_a_report_already_shown_is_not_written() -> None:
    cluster = Cluster(upstream_head=2, shown=report("v2"))
    _publish(cluster, current=report("v2"), resource_version="10")
    assert cluster.requests == []


def test_a_flow_written_meanwhile_at_every_attempt_fails_the_publish_for_a_retry() -> None:
    cluster = Cluster(upstream_head=2, shown=report("v1"))
    head = iter(range(3, 100))

    def keep_writing() -> None:
        # Dev moves twice while each attempt reads: what it read is already shown no more.
        cluster.another_process_publishes(next(head))
        cluster.upstream_head = next(head)
        cluster.on_upstream_list = keep_writing

    cluster.on_upstream_list = keep_writing
    with pytest.raises(RetryLater, match="sync report kept being written meanwhile"):
        _publish(cluster, current=report("v1"), resource_version="10")
    assert [how for how, _ in cluster.writes] == ["other"] * len(cluster.writes), "never a report from older reads"
