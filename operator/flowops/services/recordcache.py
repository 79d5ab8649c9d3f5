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

from collections.abc import Mapping
from typing import Any

from ..domain.commit import VersionRecord, latest_of
from ..lru import BoundedLRU


class RecordCache:
    def __init__(self, budget: int) -> None:
        self.budget = budget  # records held across all flows: memory stays flat with many flows
        # (namespace, name) -> (the Flow's uid, its versions by number)
        self._entries: BoundedLRU[tuple[str, str], tuple[str, tuple[VersionRecord, ...]]] = BoundedLRU(
            max_cost=budget, cost=lambda entry: len(entry[1])
        )

    def get(self, flow: Mapping[str, Any]) -> list[VersionRecord] | None:
        """The versions of this Flow object, if held and its status agrees on the newest."""
        meta = flow["metadata"]
        key = (meta["namespace"], meta["name"])
        entry = self._entries.peek(key)
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
        self._entries.touch(key)  # only an entry that is used counts as recently used
        return list(records)

    def put(self, flow: Mapping[str, Any], records: list[VersionRecord]) -> None:
        meta = flow["metadata"]
        key = (meta["namespace"], meta["name"])
        if len(records) > self.budget // 4 or not meta.get("uid"):
            self._entries.pop(key)
            return
        self._entries.put(key, (meta["uid"], tuple(sorted(records, key=lambda r: r.number))))

    def forget(self, namespace: str, name: str) -> None:
        self._entries.pop((namespace, name))
