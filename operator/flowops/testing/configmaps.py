"""Counts the writes to ConfigMaps as a workload watching them would see them."""

from __future__ import annotations

import json
import threading

import urllib3

from ..kube import CONFIGMAPS, Kube


class ConfigMapWrites:
    """Every ADDED/MODIFIED of one ConfigMap from the moment it is created: the `data`
    of each write, in order."""

    def __init__(self, kube: Kube, namespace: str, name: str) -> None:
        self.writes: list[dict[str, str]] = []
        listed = kube.request("GET", CONFIGMAPS.path(namespace), query={"fieldSelector": f"metadata.name={name}"})
        method, url, headers, _, _ = kube.api.param_serialize(
            "GET",
            CONFIGMAPS.path(namespace),
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
                        self.writes.append(event["object"].get("data") or {})
        except Exception:  # noqa: BLE001 - the connection is closed when the test ends
            pass

    @property
    def count(self) -> int:
        return len(self.writes)

    def close(self) -> None:
        # Close the connection, never return it to the shared pool mid-stream.
        self._response.shutdown()
        self._response.close()
        self._thread.join(5)
