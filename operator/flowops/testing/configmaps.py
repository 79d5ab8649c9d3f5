"""Watches one object's writes as a workload or a GitOps tool watching it would see them."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import urllib3

from ..kube import CONFIGMAPS, Kube
from ..kube.resources import Resource
from .waiting import wait_for


class ObjectWrites:
    """Every ADDED/MODIFIED of one object from the moment the watch starts: `part` of each
    write, in order."""

    def __init__(self, kube: Kube, resource: Resource, namespace: str, name: str, part: Callable[[dict[str, Any]], Any]) -> None:
        self.writes: list[Any] = []
        self.resource, self.namespace, self.name, self._part = resource, namespace, name, part
        listed = kube.request("GET", resource.path(namespace), query={"fieldSelector": f"metadata.name={name}"})
        self.seen = next((i["metadata"]["resourceVersion"] for i in listed.get("items") or ()), None)
        method, url, headers, _, _ = kube.api.param_serialize(
            "GET",
            resource.path(namespace),
            query_params=[
                ("watch", "true"),
                ("fieldSelector", f"metadata.name={name}"),
                ("resourceVersion", listed["metadata"]["resourceVersion"]),
                ("timeoutSeconds", "600"),
            ],
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        self._response = kube.api.rest_client.pool_manager.request(
            method,
            url,
            headers=headers,
            preload_content=False,
            timeout=urllib3.Timeout(connect=10, read=None),
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        try:
            for chunk in self._response.stream(65536):
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    event = json.loads(line)
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self.writes.append(self._part(event["object"]))
                    if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        self.seen = event["object"]["metadata"]["resourceVersion"]
        except Exception:  # noqa: BLE001 - the connection is closed when the test ends
            pass

    def catch_up(self, kube: Kube) -> None:
        """Wait until this watch has delivered every write the object has had so far."""

        def current() -> str | None:
            found = kube.get_or_none(self.resource, self.name, self.namespace) or {}
            return found.get("metadata", {}).get("resourceVersion")

        wait_for(lambda: current() == self.seen, message=f"the watch on {self.name} to catch up")

    @property
    def count(self) -> int:
        return len(self.writes)

    def close(self) -> None:
        # Close the connection, never return it to the shared pool mid-stream.
        self._response.shutdown()
        self._response.close()
        self._thread.join(5)


class ConfigMapWrites(ObjectWrites):
    """The `data` of every write of one ConfigMap."""

    def __init__(self, kube: Kube, namespace: str, name: str) -> None:
        super().__init__(kube, CONFIGMAPS, namespace, name, lambda obj: obj.get("data") or {})

    @property
    def versions(self) -> list[str | None]:
        """The flow version each write carried."""
        return [data.get("version") for data in self.writes]
