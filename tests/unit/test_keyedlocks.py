"""Per-object locks and reconcile marks do not accumulate one entry per object ever seen."""

from __future__ import annotations

import threading

from flowops.keyedlocks import KeyedLocks
from flowops.runtime import Runtime
from flowops.services import bindings_concurrency as concurrency


def test_a_lock_is_dropped_with_its_last_user() -> None:
    locks = KeyedLocks()
    for n in range(1000):
        with locks.hold(("ns", f"flow-{n}")):
            assert len(locks) == 1 and locks.users(("ns", f"flow-{n}")) == 1
    assert len(locks) == 0 and locks.users(("ns", "flow-0")) == 0


def test_the_same_key_still_excludes_while_it_is_in_use() -> None:
    locks = KeyedLocks()
    inside, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with locks.hold("k"):
            inside.set()
            release.wait(5)
            order.append("first")

    def second() -> None:
        inside.wait(5)
        with locks.hold("k"):
            order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(5)
    assert len(locks) >= 1
    release.set()
    for t in threads:
        t.join(5)
    assert order == ["first", "second"] and len(locks) == 0


def test_runtime_flow_locks_do_not_grow_with_flows() -> None:
    rt = Runtime(kube=None)  # type: ignore[arg-type]
    for n in range(500):
        with rt.flow_lock("ns", f"flow-{n}"):
            pass
    assert len(rt.flow_locks) == 0


def test_reconcile_marks_older_than_any_snapshot_are_dropped() -> None:
    clock = [0.0]
    state = concurrency.BindingState()
    for n in range(100):
        state.mark_reconciled("gone", f"client-{n}", now=lambda: clock[0])
    assert state.last_reconciled("gone", "client-0") is not None
    clock[0] = concurrency.RECONCILED_TTL + 1
    state.mark_reconciled("live", "client", now=lambda: clock[0])
    assert state.last_reconciled("gone", "client-0") is None, "deleted clients' marks expire"
    assert state.last_reconciled("live", "client") is not None
