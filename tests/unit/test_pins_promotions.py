"""Retention spares what a running Promotion reads: its recorded source version, and before
it has recorded one, the version its spec names (id, number or content hash)."""

from __future__ import annotations

from flowops.domain.commit import VersionRecord
from flowops.runtime import Runtime
from flowops.services import pins


class FakeKube:
    def __init__(self, promotions: list[dict]) -> None:
        self.promotions = promotions

    def list(self, resource, namespace=None, **_):
        return self.promotions


def promo(version: str, status: dict | None = None, namespace: str = "ns-staging") -> dict:
    return {
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {"source": {"environment": "dev", "flow": "standard", "version": version}},
        "status": status or {},
    }


RECORDS = [
    VersionRecord(name=f"standard-{n}", id=f"2026010100000000000{n}", number=n, content_hash=f"sha256:{n:064d}")
    for n in (1, 2, 3)
]


def in_use(*promotions: dict) -> set[str]:
    rt = Runtime(kube=FakeKube(list(promotions)))  # type: ignore[arg-type]
    return pins.versions_in_use_by_promotions(rt, "dev", "ns-dev", "standard", RECORDS)


def test_a_promotion_not_yet_started_spares_the_version_its_spec_names():
    assert in_use(promo("2")) == {RECORDS[1].id}
    assert in_use(promo(RECORDS[0].content_hash)) == {RECORDS[0].id}
    assert in_use(promo("HEAD")) == set(), "HEAD is kept anyway"


def test_a_running_promotion_spares_its_recorded_source_version_and_a_finished_one_nothing():
    running = promo("HEAD", {"phase": "Running", "sourceVersion": RECORDS[2].id})
    finished = promo("1", {"phase": "Succeeded", "sourceVersion": RECORDS[0].id})
    assert in_use(running, finished) == {RECORDS[2].id}
