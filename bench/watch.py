"""A streaming watch in a background thread, so waits cost one event each instead of polling.

Event times are taken when the event arrives, which is when a user's own watch
(kubectl get -w, a GitOps tool) would see the change.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import urllib3

from flowops.kube import Kube
from flowops.kube.client import METADATA_LIST_ACCEPT
from flowops.kube.resources import Resource

METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"

# on_event(type, object, arrival time): called in the watch thread under the watch's lock.
Handler = Callable[[str, dict[str, Any], float], None]


class Watch:
    def __init__(
        self,
        kube: Kube,
        resource: Resource,
        namespace: str | None,
        on_event: Handler,
        *,
        metadata_only: bool = False,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> None:
        self.kube, self.resource, self.namespace = kube, resource, namespace
        self.on_event, self.metadata_only = on_event, metadata_only
        self.label_selector, self.field_selector = label_selector, field_selector
        self.changed = threading.Condition()
        self._stop = threading.Event()
        self._response: Any = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> Watch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Watch:
        """Lists first (existing objects arrive as ADDED), then streams from that point."""
        version = self._list()
        self._thread = threading.Thread(target=self._run, args=(version,), daemon=True, name=f"watch-{self.resource.plural}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            try:
                response.shutdown()
            except Exception:  # noqa: BLE001 - best effort: the thread is a daemon anyway
                pass
        if self._thread:
            self._thread.join(5)

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str = "") -> Any:
        """Blocks until predicate() is truthy (re-checked after every event)."""

        def failed() -> str | None:
            return None if self.error is None else f"watch of {self.resource.plural} failed: {self.error}"

        return wait_on(self.changed, predicate, failed, timeout, what or str(predicate))

    # -- internals ------------------------------------------------------------------------
    def _query(self) -> dict[str, Any]:
        return {"labelSelector": self.label_selector, "fieldSelector": self.field_selector}

    def _list(self) -> str:
        accept = METADATA_LIST_ACCEPT if self.metadata_only else "application/json"
        result = self.kube.request("GET", self.resource.path(self.namespace), query=self._query(), accept=accept)
        now = time.monotonic()
        with self.changed:
            for item in result.get("items") or []:
                self.on_event("ADDED", item, now)
            self.changed.notify_all()
        return result["metadata"]["resourceVersion"]

    def _run(self, version: str) -> None:
        try:
            while not self._stop.is_set():
                version = self._stream(version)
        except BaseException as exc:  # noqa: BLE001 - surfaced to waiters
            if not self._stop.is_set():
                with self.changed:
                    self.error = exc
                    self.changed.notify_all()

    def _stream(self, version: str) -> str:
        api = self.kube.api
        query = {
            **self._query(),
            "watch": "true",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": 3600,
        }
        accept = METADATA_WATCH_ACCEPT if self.metadata_only else "application/json"
        method, url, headers, _, _ = api.param_serialize(
            "GET",
            self.resource.path(self.namespace),
            query_params=[(k, v) for k, v in query.items() if v is not None],
            header_params={"Accept": accept},
            auth_settings=["BearerToken"],
        )
        response = api.rest_client.pool_manager.request(
            method,
            url,
            headers=headers,
            preload_content=False,
            timeout=urllib3.Timeout(connect=10, read=None),
        )
        self._response = response
        if response.status != 200:
            raise RuntimeError(f"watch {url}: HTTP {response.status} {response.data[:300]!r}")
        for line in response:
            if self._stop.is_set():
                break
            if not line.strip():
                continue
            event = json.loads(line)
            now = time.monotonic()
            kind, obj = event["type"], event["object"]
            if kind == "ERROR":
                # 410 Gone: the history is compacted; start over from a fresh list.
                return self._list()
            version = obj["metadata"]["resourceVersion"]
            if kind == "BOOKMARK":
                continue
            with self.changed:
                self.on_event(kind, obj, now)
                self.changed.notify_all()
        return version


class Watched:
    """Base of the trackers that follow a watch: `with Tracker(...) as t:` runs its watch."""

    watch: Watch

    def __enter__(self):  # type: ignore[no-untyped-def]
        self.watch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.watch.stop()


def wait_on(
    changed: threading.Condition, predicate: Callable[[], Any], failed: Callable[[], str | None], timeout: float, what: str
) -> Any:
    """Until predicate() is truthy, re-checked whenever `changed` is notified; RuntimeError
    as soon as failed() says why it never will be."""
    deadline = time.monotonic() + timeout
    with changed:
        while True:
            value = predicate()
            if value:
                return value
            reason = failed()
            if reason is not None:
                raise RuntimeError(reason)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            changed.wait(min(remaining, 1.0))
