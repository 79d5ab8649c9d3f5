"""A client following HEAD resolves against the HEAD the Flow events have shown: a
fan-out's shared read of the flow, older than that, is read again for it."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.domain.commit import VersionRecord
from flowops.runtime import Runtime
from flowops.services import bindings_clients
from flowops.services.bindings_reads import Reads

NS = "ns-dev"
V1 = VersionRecord(name="login-00001", id="20261202100000000001", number=1, content_hash="sha256:1", ready=True)
V2 = VersionRecord(name="login-00002", id="20261202100000000002", number=2, content_hash="sha256:2", ready=True)


@pytest.fixture
def shared_read_holds_v1(monkeypatch: pytest.MonkeyPatch) -> tuple[Reads, list[str]]:
    """`target` as the fan-out's shared Reads answers it (v1), and as a fresh read (v2);
    which of the two was asked, in order."""
    shared = Reads(None, None)  # type: ignore[arg-type]
    asked: list[str] = []

    def target(reads: Reads, namespace: str, flow: str, selector: str, env: Any, unfinished: Any) -> VersionRecord:
        asked.append("shared" if reads is shared else "fresh")
        return V1 if reads is shared else V2

    monkeypatch.setattr(bindings_clients, "target", target)
    return shared, asked


def resolve(rt: Runtime, reads: Reads, selector: str = "HEAD") -> Any:
    return bindings_clients._resolve(rt, reads, NS, "web", "login", selector, {"spec": {"namespace": NS}})


def test_a_shared_read_older_than_the_head_the_events_show_is_read_again(shared_read_holds_v1: tuple[Reads, list[str]]) -> None:
    shared, asked = shared_read_holds_v1
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    rt.flows.observe(NS, "login", None, head=V2.id)
    assert resolve(rt, shared) == V2
    assert asked == ["shared", "fresh"]


def test_a_shared_read_as_new_as_the_events_is_used(shared_read_holds_v1: tuple[Reads, list[str]]) -> None:
    shared, asked = shared_read_holds_v1
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    rt.flows.observe(NS, "login", None, head=V1.id)
    assert resolve(rt, shared) == V1
    assert asked == ["shared"]


def test_events_that_lag_the_read_cause_no_second_read(shared_read_holds_v1: tuple[Reads, list[str]]) -> None:
    shared, asked = shared_read_holds_v1
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    assert resolve(rt, shared) == V1  # no event of the flow seen yet
    assert asked == ["shared"]


def test_a_pinned_version_is_not_read_again(shared_read_holds_v1: tuple[Reads, list[str]]) -> None:
    shared, asked = shared_read_holds_v1
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    rt.flows.observe(NS, "login", None, head=V2.id)
    assert resolve(rt, shared, selector="1") == V1
    assert asked == ["shared"]


def test_the_client_is_noted_as_a_reader_before_it_reads(shared_read_holds_v1: tuple[Reads, list[str]]) -> None:
    shared, asked = shared_read_holds_v1
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    rt.flows.observe(NS, "login", None, head=V1.id)
    resolve(rt, shared)
    assert rt.bindings.flow_readers.behind(NS, "login", V2.id, deleted=False) == ["web"]
    assert rt.bindings.flow_readers.behind(NS, "login", V1.id, deleted=False) == []
