"""What retention spares, as the indexes hold it: per flow, version selectors."""

from flowops.domain.commit import VersionRecord
from flowops.runtime import Runtime
from flowops.services import pins, promotionhistory

ID1, ID2, ID3 = "20260101000000000001", "20260101000000000002", "20260101000000000003"


def test_client_pins_its_resolved_version_and_its_own_setting():
    entries = pins.client_pins("ns", {"defaultFlow": {"name": "signin", "version": "2"}}, {"flow": "signin", "version": ID3})
    assert entries == {("flow", "ns", "signin"): (ID3, "2")}
    # A version set without a name applies to the flow the client uses.
    assert pins.client_pins("ns", {"defaultFlow": {"version": ID1}}, {"flow": "f", "version": ID2}) == {
        ("flow", "ns", "f"): (ID2, ID1)
    }
    assert pins.client_pins("ns", {}, {}) == {}


def test_application_and_promotion_pins():
    assert pins.application_pins("ns", {"defaultFlow": {"name": "f", "version": ID1}}) == {("flow", "ns", "f"): (ID1,)}
    assert pins.application_pins("ns", {"defaultFlow": {"name": "f"}}) == {}
    source = {"source": {"environment": "staging", "flow": "f"}}
    running = pins.promotion_pins("prod", "p", source, {"phase": "Running", "sourceVersion": ID1, "targetBaseVersion": ID2})
    assert running == {
        ("promoted-by", "prod", "f"): ("p",),
        ("source", "staging", "f"): (ID1,),
        ("target", "prod", "f"): (ID2,),
    }
    # Finished: no source or base held; the versions it landed still are, by its name.
    for phase in ("Succeeded", "Failed"):
        finished = {"phase": phase, "sourceVersion": ID1, "targetBaseVersion": ID2, "targetVersion": ID3}
        assert pins.promotion_pins("prod", "p", source, finished) == {("promoted-by", "prod", "f"): ("p",)}
    renamed = {**source, "target": {"flow": "g"}}
    assert pins.promotion_pins("prod", "p", renamed, {}) == {("promoted-by", "prod", "g"): ("p",)}


def test_versions_a_promotion_landed_are_held_while_a_promotion_of_that_name_exists():
    records = [
        VersionRecord(name="f-1", id=ID1, number=1, content_hash="a", promotion_name="release-1"),
        VersionRecord(name="f-2", id=ID2, number=2, content_hash="b", promotion_name="release-2"),
        VersionRecord(name="f-3", id=ID3, number=3, content_hash="c"),
    ]
    promotions = Index({("promoted-by", "ns", "f"): [("release-1",)], ("promoted-by", "other", "f"): [("release-2",)]})
    rt = Runtime(kube=None, indexes={pins.PROMOTION_PINS: promotions})  # type: ignore[arg-type]
    assert pins.versions_in_use_by_promotions(rt, None, "ns", "f", records) == {ID1}
    assert pins.versions_in_use_by_promotions(rt, None, "ns", "g", records) == set()


class Index(dict):
    """Kopf's index shape: key -> collection of the values indexed under it."""


def test_pinned_versions_read_the_indexes_without_api_calls():
    records = [
        VersionRecord(name="f-1", id=ID1, number=1, content_hash="a"),
        VersionRecord(name="f-2", id=ID2, number=2, content_hash="b"),
    ]
    clients = Index({("flow", "ns", "f"): [(ID2,), ("1",)]})
    apps = Index({("flow", "ns", "other"): [(ID1,)]})
    promotions = Index({("source", "dev", "f"): [(ID3,)]})
    rt = Runtime(kube=None, indexes={pins.APICLIENT_PINS: clients, pins.APPLICATION_PINS: apps, pins.PROMOTION_PINS: promotions})  # type: ignore[arg-type]
    assert pins.pinned_versions(rt, "ns", "f", records) == {ID1, ID2}
    assert pins.versions_in_use_by_promotions(rt, "dev", "ns", "f") == {ID3}
    assert pins.versions_in_use_by_promotions(rt, "staging", "ns", "f") == set()


def test_gitops_tracked_promotions_are_recognised():
    assert promotionhistory.is_tracked({"labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}})
    assert promotionhistory.is_tracked({"annotations": {"argocd.argoproj.io/tracking-id": "app:flowops.io/Promotion:ns/p"}})
    # Argo CD's label tracking, under its default key and the key its docs recommend
    assert promotionhistory.is_tracked({"labels": {"app.kubernetes.io/instance": "apps"}})
    assert promotionhistory.is_tracked({"labels": {"argocd.argoproj.io/instance": "apps"}})
    assert not promotionhistory.is_tracked({"labels": {"team": "id"}})
    body = {
        "metadata": {"name": "p", "namespace": "prod", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"source": {"environment": "staging", "flow": "f"}, "target": {"flow": "g"}},
        "status": {"phase": "Failed", "completedAt": "2026-01-02T00:00:00Z"},
    }
    ((key, entry),) = promotionhistory.index_entry(body).items()
    assert key == ("prod", "g") and entry.name == "p" and entry.completed == "2026-01-02T00:00:00Z" and not entry.tracked
    assert promotionhistory.index_entry({**body, "status": {"phase": "Running"}}) == {}
