"""An Environment's counts land only on the Environment they were counted for: a write
retried through an outage must not land on a namesake created since, which may govern
another namespace."""

from __future__ import annotations

from typing import Any

from flowops.kube import Conflict, Invalid, NotFound
from flowops.runtime import Runtime
from flowops.services import environments

UID = "uid-old"


class EnvironmentsApi:
    """One Environment named dev, as the API server answers for it."""

    def __init__(self, uid: str | None, status: dict[str, Any] | None) -> None:
        self.uid, self.status = uid, status
        self.writes: list[tuple[str, Any]] = []

    def _current(self) -> dict[str, Any] | None:
        if self.uid is None:
            return None
        return {
            "metadata": {"name": "dev", "uid": self.uid, "resourceVersion": "7"},
            **({"status": self.status} if self.status is not None else {}),
        }

    def json_patch(self, resource, name, ops, namespace=None, subresource=None, metadata_only=False):
        current = self._current()
        if current is None:
            raise NotFound(404, "NotFound", "environments.flowops.io dev not found")
        for op in ops:
            if op["op"] == "test" and current["metadata"]["uid"] != op["value"]:
                raise Invalid(422, "Invalid", "the server rejected our request: testing value /metadata/uid failed")
            if op["op"] == "add" and self.status is None:
                raise Invalid(422, "Invalid", "doc is missing path: /status/flows")
        self.writes.append(("json_patch", ops))
        return current

    def get_or_none(self, resource, name, namespace=None):
        return self._current()

    def patch_status(self, resource, name, status, namespace=None, resource_version=None):
        if resource_version != "7":
            raise Conflict(409, "Conflict", "the object has been modified")
        self.writes.append(("patch_status", status))
        return self._current()


def publish(api: EnvironmentsApi, uid: str | None = UID) -> bool:
    return environments.publish_counts(Runtime(kube=api), "dev", uid, (3, 1))  # type: ignore[arg-type]


def test_the_counts_land_on_the_environment_they_were_counted_for():
    api = EnvironmentsApi(UID, {"flows": 0, "outOfSync": 0})
    assert publish(api)
    [(kind, ops)] = api.writes
    assert kind == "json_patch"
    assert ops[0] == {"op": "test", "path": "/metadata/uid", "value": UID}
    assert {op["path"]: op["value"] for op in ops[1:]} == {"/status/flows": 3, "/status/outOfSync": 1}


def test_a_namesake_created_since_is_not_written():
    api = EnvironmentsApi("uid-new", {"flows": 0, "outOfSync": 0})
    assert publish(api) is False
    assert api.writes == []


def test_an_environment_gone_is_not_written():
    api = EnvironmentsApi(None, None)
    assert publish(api) is False
    assert api.writes == []


def test_an_environment_without_status_yet_is_written_as_read():
    api = EnvironmentsApi(UID, None)
    assert publish(api)
    assert api.writes == [("patch_status", {"flows": 3, "outOfSync": 1})]
