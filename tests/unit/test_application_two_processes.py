"""An Application's status is written only over the status it was decided from: another
operator process that wrote since (from a HEAD or a count it read later) is never
overwritten by this older decision; the Application is read and decided again."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.kube import Conflict
from flowops.runtime import Runtime
from flowops.services import bindings_applications

NS = "ns-dev"


class Cluster:
    """One Application; its status writes are checked against the stored resourceVersion."""

    def __init__(self) -> None:
        self.app: dict[str, Any] = {
            "metadata": {"name": "shop", "namespace": NS, "generation": 1, "resourceVersion": "1"},
            "spec": {},
            "status": {},
        }
        self.written: list[tuple[str, dict[str, Any]]] = []
        self.refused: list[str] = []

    def get_or_none(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        return {**self.app, "metadata": dict(self.app["metadata"]), "status": dict(self.app["status"])}

    def patch_status(
        self, resource: Any, name: str, status: dict[str, Any], namespace: str | None = None, resource_version: str | None = None
    ) -> dict[str, Any]:
        stored = self.app["metadata"]["resourceVersion"]
        if resource_version != stored:
            self.refused.append(str(resource_version))
            raise Conflict(409, "Conflict", "the object has been modified")
        self.written.append((stored, status))
        self.app["status"] = {**self.app["status"], **status}
        self.app["metadata"]["resourceVersion"] = str(int(stored) + 1)
        return {"metadata": dict(self.app["metadata"])}

    def another_process_writes(self, clients: int) -> None:
        self.patch_status(None, "shop", {"clients": clients}, NS, self.app["metadata"]["resourceVersion"])


def test_a_decision_from_before_another_process_wrote_is_made_again_not_written() -> None:
    cluster = Cluster()
    counts = iter([3, 4])

    def count() -> int:
        taken = next(counts)
        if taken == 3:  # this process counted 3; another then wrote its newer count, 4
            cluster.another_process_writes(4)
        return taken

    status = bindings_applications.reconcile_application(Runtime(kube=cluster), NS, "shop", None, count)  # type: ignore[arg-type]
    assert cluster.refused == ["1"], "the decision made from version 1 was refused"
    assert [(version, s["clients"]) for version, s in cluster.written] == [("1", 4), ("2", 4)]
    assert status is not None and status["clients"] == 4 and cluster.app["status"]["clients"] == 4


def test_an_application_written_meanwhile_at_every_attempt_fails_for_a_retry() -> None:
    cluster = Cluster()

    def count() -> int:
        cluster.another_process_writes(9)
        return 1

    with pytest.raises(RuntimeError, match="status kept being written meanwhile"):
        bindings_applications.reconcile_application(Runtime(kube=cluster), NS, "shop", None, count)  # type: ignore[arg-type]
    assert {s["clients"] for _, s in cluster.written} == {9}, "never the older decision"


def test_an_application_deleted_while_it_was_decided_ends_quietly() -> None:
    """Deleted between its read and its status write (a namespace torn down): nothing to
    decide, and no error for the handler to log and retry."""
    from flowops.kube import NotFound

    cluster = Cluster()

    def deleted(*_: Any, **__: Any) -> dict[str, Any]:
        raise NotFound(404, "NotFound", 'applications.flowops.io "shop" not found')

    cluster.patch_status = deleted  # type: ignore[method-assign]
    assert bindings_applications.reconcile_application(Runtime(kube=cluster), NS, "shop", None, lambda: 2) is None  # type: ignore[arg-type]
