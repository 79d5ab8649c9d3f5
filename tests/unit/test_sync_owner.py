"""The out-of-sync report compares the HEADs of the flows that exist, never a deleted
namesake's versions (they linger until garbage collection, or for good when retained)."""

from __future__ import annotations

from typing import Any

from flowops.services import sync


def _version(number: int, owner: str, digest: str) -> dict:
    return {
        "metadata": {
            "name": f"standard-{number:05d}",
            "ownerReferences": [{"uid": owner}],
            "labels": {
                "flowops.io/flow": "standard",
                "flowops.io/number": str(number),
                "flowops.io/ready": "true",
                "flowops.io/version": f"2026112109301200000{number}",
            },
            "annotations": {"flowops.io/content-hash": digest},
        }
    }


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
