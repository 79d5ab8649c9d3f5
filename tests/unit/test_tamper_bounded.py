"""Keeping a direct edit as a Quarantine version gives up (and the handler retries) when
other writers keep taking the number, instead of looping for good."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from flowops.domain.commit import VersionRecord
from flowops.kube import AlreadyExists
from flowops.runtime import Runtime
from flowops.services import tamper

FLOW = {"metadata": {"name": "standard", "namespace": "prod", "uid": "u-1", "generation": 4}, "spec": {"content": {"x": 1}}}
LATEST = VersionRecord(name="standard-00001", id="20261121093012000001", number=1, content_hash="sha256:a")


class TakenKube:
    """Every create finds its number taken; each list shows one more foreign version."""

    def __init__(self) -> None:
        self.creates = 0

    def create(self, resource: Any, body: dict, namespace: str, metadata_only: bool = False) -> dict:
        self.creates += 1
        raise AlreadyExists(409, "AlreadyExists", f"{body['metadata']['name']} exists")

    def list(self, resource: Any, namespace: str, label_selector: str = "", metadata_only: bool = False) -> list[dict]:
        return [
            {
                "metadata": {
                    "name": f"standard-{n:05d}",
                    "labels": {
                        "flowops.io/flow": "standard",
                        "flowops.io/number": str(n),
                        "flowops.io/version": f"2026112109301200000{n}",
                    },
                    "annotations": {},
                    "ownerReferences": [{"uid": "u-1"}],
                }
            }
            for n in range(1, self.creates + 2)
        ]

    def get_or_none(self, resource: Any, name: str, namespace: str) -> None:
        return None


def test_the_quarantine_create_gives_up_after_a_bounded_number_of_rounds() -> None:
    kube = TakenKube()
    rt = Runtime(kube=kube, clock=lambda: dt.datetime(2026, 11, 21, tzinfo=dt.UTC))  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="kept being taken"):
        tamper._quarantine(rt, FLOW, {"x": 1}, "sha256:b", [LATEST], LATEST, "kubectl (Update)")
    assert kube.creates == tamper._ATTEMPTS
