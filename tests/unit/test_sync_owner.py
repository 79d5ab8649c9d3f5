"""The out-of-sync report compares the HEADs of the flows that exist, never a deleted
namesake's versions (they linger until garbage collection, or for good when retained)."""

from __future__ import annotations

import threading
from typing import Any

from flowops.runtime import Runtime
from flowops.services import sync
from flowops.testing.objects import listed_version
from flowops.testing.waiting import wait_for


def _version(number: int, owner: str, digest: str) -> dict:
    return listed_version("standard", number, owner, digest, f"2026112109301200000{number}")


class Kube:
    def __init__(self) -> None:
        self.versions = {
            "ns-dev": [_version(1, "dev-uid", "sha256:same")],
            # Staging: number 1 belongs to a deleted flow; the live one has no version yet.
            "ns-staging": [_version(1, "deleted-uid", "sha256:same")],
        }
        self.uids = {"ns-dev": "dev-uid", "ns-staging": "live-uid"}

    def list(self, resource: Any, namespace: str, label_selector: str = "", metadata_only: bool = False) -> list[dict]:
        return self.versions[namespace]

    def get_metadata(self, resource: Any, name: str, namespace: str) -> dict:
        return {"metadata": {"name": name, "uid": self.uids[namespace]}}


ENVS = {"dev": {"metadata": {"name": "dev"}, "spec": {"namespace": "ns-dev"}}}
STAGING = {"metadata": {"name": "staging"}, "spec": {"namespace": "ns-staging", "upstream": "dev"}}


def test_a_deleted_namesakes_version_does_not_make_the_new_flow_in_sync() -> None:
    report = sync.compute(Kube(), "ns-staging", "standard", STAGING, ENVS.get)  # type: ignore[arg-type]
    assert report is not None
    assert report["state"] == "OutOfSync" and report["version"] is None


def test_the_callers_uid_spares_a_read_and_its_versions_count() -> None:
    kube = Kube()
    kube.versions["ns-staging"].append(_version(2, "live-uid", "sha256:same"))
    report = sync.compute(kube, "ns-staging", "standard", STAGING, ENVS.get, uid="live-uid")  # type: ignore[arg-type]
    assert report is not None and report["state"] == "InSync" and report["version"].endswith("2")


class SlowFirstRead(Kube):
    """Staging's first version list (the upstream's report) waits until the test lets it
    go on: a thread that read the flow before its first commit and writes afterwards."""

    def __init__(self) -> None:
        super().__init__()
        self.versions["ns-staging"] = []
        self.read_before_commit = threading.Event()
        self.go_on = threading.Event()
        self.reports: list[dict] = []

    def list(self, resource: Any, namespace: str, label_selector: str = "", metadata_only: bool = False) -> list[dict]:
        found = list(self.versions[namespace])
        if namespace == "ns-staging" and not self.read_before_commit.is_set():
            self.read_before_commit.set()
            assert self.go_on.wait(10), "never let go on"
        return found

    def get_or_none(self, resource: Any, name: str, namespace: str) -> dict:
        shown = {"sync": self.reports[-1]} if self.reports else {}
        meta = {"name": name, "uid": self.uids[namespace], "resourceVersion": str(len(self.reports))}
        return {"metadata": meta, "status": shown}

    def replace_status(self, resource: Any, name: str, status: dict, namespace: str, resource_version: str) -> dict:
        assert resource_version == str(len(self.reports)), "each report is written from the latest read"
        self.reports.append(status["sync"])
        return {"metadata": {"name": name, "resourceVersion": str(len(self.reports))}}


def test_a_report_read_before_the_first_commit_cannot_land_after_the_report_of_that_commit() -> None:
    kube = SlowFirstRead()
    rt = Runtime(kube=kube)  # type: ignore[arg-type]
    key = ("ns-staging", "standard")
    upstreams_report = threading.Thread(target=sync.publish, args=(rt, *key, STAGING, ENVS.get, None), kwargs={"uid": "live-uid"})
    upstreams_report.start()
    assert kube.read_before_commit.wait(10)

    def commit_then_report() -> None:
        with rt.flow_lock(*key):
            kube.versions["ns-staging"].append(_version(2, "live-uid", "sha256:same"))
        sync.publish(rt, *key, STAGING, ENVS.get, None, uid="live-uid")

    own = threading.Thread(target=commit_then_report)
    own.start()
    # Until the commit either is done or waits for the flow (two users of its lock).
    wait_for(lambda: not own.is_alive() or rt.flow_locks.users(key) == 2, timeout=10)
    kube.go_on.set()
    upstreams_report.join(10)
    own.join(10)
    assert [r["state"] for r in kube.reports] == ["OutOfSync", "InSync"], kube.reports
