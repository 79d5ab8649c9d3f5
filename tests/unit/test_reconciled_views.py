"""A Flow view reconciled to the end here is not reconciled again when its late event
arrives; any other view (a later write, other guardrails, a re-created Flow) is."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.runtime import Runtime
from flowops.services import flows
from flowops.services.reconciledviews import ReconciledViews, view_of


def flow(rv: str = "41", uid: str = "u1") -> dict[str, Any]:
    return {
        "metadata": {"namespace": "staging", "name": "signin", "uid": uid, "resourceVersion": rv, "generation": 3},
        "spec": {"content": {"title": "v2"}},
        "status": {"latestReadyNumber": 1},
    }


def env(history_limit: int = 100) -> dict[str, Any]:
    # As Kopf's index holds it: no generation.
    return {
        "metadata": {"name": "staging", "uid": "e1"},
        "spec": {"namespace": "staging", "policy": {"historyLimit": history_limit}},
    }


class NoApi:
    """Any call means the view was reconciled again."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API was called ({name})")


def test_the_same_view_is_seen_and_any_other_is_not() -> None:
    views = ReconciledViews()
    views.record(view_of(flow(), env()))
    assert views.seen(view_of(flow(), env()))
    assert not views.seen(view_of(flow(rv="42"), env()))  # a later write of the Flow
    assert not views.seen(view_of(flow(), env(history_limit=5)))  # a new policy: the same Flow is judged again
    assert not views.seen(view_of(flow(uid="u2"), env()))  # a re-created Flow of the same name
    assert not views.seen(view_of(flow(), None))
    views.forget("staging", "signin")
    assert not views.seen(view_of(flow(), env()))


def test_a_view_without_a_resource_version_is_never_taken_as_seen() -> None:
    views = ReconciledViews()
    body = flow()
    del body["metadata"]["resourceVersion"]
    views.record(view_of(body, env()))
    assert not views.seen(view_of(body, env()))


def test_the_late_event_of_a_reconciled_write_touches_nothing() -> None:
    rt = Runtime(kube=NoApi())  # type: ignore[arg-type]
    rt.reconciled.record(view_of(flow(), env()))
    outcome = flows.reconcile_locked(rt, flow(), env())
    assert outcome.created is None and outcome.status == {"latestReadyNumber": 1}
    assert outcome.current is None  # nothing recorded of how it was left: a later write patches


def test_the_late_event_names_the_flow_as_its_reconcile_left_it_without_the_document() -> None:
    """The reconcile wrote the status (resourceVersion 42): the late event of the write it
    reconciled (41) hands on what a status PUT needs, so the sync report is not a merge patch."""
    rt = Runtime(kube=NoApi())  # type: ignore[arg-type]
    left = flow(rv="42")
    left["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{...the document...}"}
    left["status"] = {"latestReadyNumber": 2}
    rt.reconciled.record(view_of(flow(), env()), left)
    outcome = flows.reconcile_locked(rt, flow(), env())
    assert outcome.status == {"latestReadyNumber": 1}  # the event's own, as before
    assert outcome.current == {
        "metadata": {"namespace": "staging", "name": "signin", "uid": "u1", "resourceVersion": "42"},
        "status": {"latestReadyNumber": 2},
    }
    assert not rt.reconciled.left(view_of(flow(rv="43"), env()))  # only for the view reconciled


def test_a_view_not_yet_reconciled_is_reconciled() -> None:
    rt = Runtime(kube=NoApi())  # type: ignore[arg-type]
    rt.reconciled.record(view_of(flow(), env()))
    with pytest.raises(AssertionError, match="the API was called"):
        flows.reconcile_locked(rt, flow(rv="42"), env())
    assert not rt.reconciled.seen(view_of(flow(), env()))  # started again, and not finished: forgotten
