"""Each recently committed flow's versions as this process last listed or wrote them.

A commit decides from the flow's versions; listing them is a round trip on the path a
user waits on. Only the operator creates and prunes versions (users have no such
rights), so after its own reconcile the list it holds is the list that exists, unless
another operator process wrote meanwhile. Two checks keep that case exact: an entry is
used only while the Flow's status still names the entry's newest version and count
(another writer publishes its own), and a version number is taken once in the API server
(AlreadyExists), after which the caller lists again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..domain.commit import VersionRecord, latest_of


class RecordCache:
    def __init__(self, budget: int) -> None:
        self.budget = budget  # records held across all flows: memory stays flat with many flows
        self._entries: OrderedDict[tuple[str, str], tuple[str, tuple[VersionRecord, ...]]] = OrderedDict()
        self._size = 0
        self._guard = threading.Lock()

    def get(self, flow: Mapping[str, Any]) -> list[VersionRecord] | None:
        """The versions of this Flow object, if held and its status agrees on the newest."""
        meta = flow["metadata"]
        key = (meta["namespace"], meta["name"])
        with self._guard:
            entry = self._entries.get(key)
            if entry is None:
                return None
            uid, records = entry
            status = flow.get("status") or {}
            newest = latest_of(list(records))
            if (
                uid != meta.get("uid")
                or (newest.number if newest else None) != status.get("latestCreatedNumber")
                or len(records) != status.get("versionCount")
            ):
                return None
            self._entries.move_to_end(key)
            return list(records)

    def put(self, flow: Mapping[str, Any], records: list[VersionRecord]) -> None:
        meta = flow["metadata"]
        key = (meta["namespace"], meta["name"])
        with self._guard:
            self._drop(key)
            if len(records) > self.budget // 4 or not meta.get("uid"):
                return
            self._entries[key] = (meta["uid"], tuple(sorted(records, key=lambda r: r.number)))
            self._size += len(records)
            while self._size > self.budget:
                self._drop(next(iter(self._entries)))

    def forget(self, namespace: str, name: str) -> None:
        with self._guard:
            self._drop((namespace, name))

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._size -= len(entry[1])
