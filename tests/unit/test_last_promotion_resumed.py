"""A Promotion resumed after a crash, and found landed, republishes the target Flow's
status.lastPromotion only if the Flow (as read while planning) shows no later Promotion:
a newer one may have landed meanwhile, and its record must stand."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.domain.commit import VersionRecord
from flowops.domain.promotion import PromotionState, TargetSide
from flowops.kube import FLOWS, PROMOTIONS, Conflict
from flowops.runtime import Runtime
from flowops.services import promotions
from flowops.services.common import RetryLater

NS = "ns-staging"
LANDED = VersionRecord(name="login-00002", id="20261203020000000002", number=2, content_hash="sha256:2", promotion_uid="p1")
PROMOTION = {
    "metadata": {"name": "p1", "namespace": NS, "uid": "p1", "resourceVersion": "40", "generation": 1},
    "spec": {"source": {"environment": "dev", "flow": "login"}},
    "status": {"phase": "Running", "sourceVersion": "20261203010000000001"},
}


class Cluster:
    def __init__(self, flow_version: str = "70", promotion: dict[str, Any] | None = PROMOTION) -> None:
        self.flow_writes: list[tuple[dict[str, Any], str | None]] = []
        self.outcomes: list[list[dict[str, Any]]] = []
        self.flow_version = flow_version
        self.promotion = promotion

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        assert resource is PROMOTIONS
        return self.promotion

    def patch_status(self, resource: Any, name: str, status: dict, namespace: str | None = None, resource_version=None):
        assert resource is FLOWS
        if resource_version != self.flow_version:
            raise Conflict(409, "Conflict", "the object has been modified")
        self.flow_writes.append((status, resource_version))
        return {"metadata": {"name": name}}

    def json_patch(self, resource: Any, name: str, ops: list, namespace=None, subresource=None, metadata_only=False):
        assert resource is PROMOTIONS  # the Promotion's outcome
        self.outcomes.append(ops)
        return {"metadata": {"name": name}}


def target_showing(last_version: str | None) -> TargetSide:
    status = {"lastPromotion": {"name": "other", "version": last_version}} if last_version else {}
    flow = {"metadata": {"name": "login", "namespace": NS, "resourceVersion": "70"}, "status": status}
    return TargetSide(True, (LANDED,), metadata=flow["metadata"], flow=flow)


def succeed(kube: Cluster, target: TargetSide) -> None:
    env = {"metadata": {"name": "dev"}, "spec": {"namespace": "ns-dev"}}
    state = PromotionState(promotion=PROMOTION, target_env={"metadata": {"name": "staging"}}, source_env=env, target=target)
    promotions._succeed(Runtime(kube=kube), state, LANDED, lambda *a: None, {"sourceVersion": "20261203010000000001"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shown", "written"),
    [
        (None, True),  # no Promotion shown yet
        ("20261203010000000005", True),  # an earlier Promotion's
        (LANDED.id, False),  # this one's already
        ("20261203030000000003", False),  # a later Promotion's: it stands
    ],
)
def test_a_resumed_promotion_never_replaces_a_later_ones_record(shown: str | None, written: bool) -> None:
    kube = Cluster()
    succeed(kube, target_showing(shown))
    assert bool(kube.flow_writes) == written
    if written:
        status, version = kube.flow_writes[0]
        assert status["lastPromotion"]["name"] == "p1" and status["lastPromotion"]["version"] == LANDED.id
        assert version == "70", "written over the Flow as read while planning"


def test_a_target_written_since_it_was_read_is_decided_again() -> None:
    kube = Cluster(flow_version="71")  # another Promotion's status write, say
    with pytest.raises(RetryLater, match="target flow login changed since it was read"):
        succeed(kube, target_showing("20261203010000000005"))
    assert kube.flow_writes == []


@pytest.mark.parametrize(
    "now",
    [None, {**PROMOTION, "metadata": {**PROMOTION["metadata"], "uid": "p1-again", "resourceVersion": "90"}}],
    ids=["deleted", "re-created from git"],
)
def test_a_promotion_deleted_before_its_resume_finishes_is_let_go(now: dict[str, Any] | None) -> None:
    """Not an error to retry: nothing of it is left to finish (a re-created namesake is
    another Promotion, decided on its own)."""
    kube = Cluster(promotion=now)
    succeed(kube, target_showing("20261203010000000005"))
    assert kube.flow_writes == [] and kube.outcomes == []
