"""A bounded map that forgets its least recently used entries, safe to share between threads.

Bounded by how many entries it holds, by the total cost of their values (bytes, records),
or both: past a bound the oldest entries go first. `get` counts as a use and `peek` does
not, so a cache read only with `peek` forgets in the order it learnt (first in, first out).
Values are never None: None means "not held".
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    def __init__(
        self, max_entries: int | None = None, *, max_cost: int | None = None, cost: Callable[[V], int] | None = None
    ) -> None:
        if max_entries is None and max_cost is None:
            raise ValueError("a bounded LRU needs max_entries, max_cost or both")
        if (max_cost is None) != (cost is None):
            raise ValueError("max_cost and cost go together")
        self.max_entries = max_entries
        self.max_cost = max_cost
        self._cost = cost
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._total = 0
        self._guard = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value held under `key`, now the most recently used."""
        with self._guard:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key]

    def peek(self, key: K) -> V | None:
        """The value held under `key`, leaving its place in the order as it is."""
        with self._guard:
            return self._entries.get(key)

    def touch(self, key: K) -> None:
        """Count a use of `key` (if held) without reading it again."""
        with self._guard:
            if key in self._entries:
                self._entries.move_to_end(key)

    def put(self, key: K, value: V) -> None:
        """Hold `value` under `key` (replacing what was there) as the most recently used."""
        with self._guard:
            self._remove(key)
            self._insert(key, value)

    def add(self, key: K, value: V) -> None:
        """Hold `value` under `key` unless something is held there already: that entry
        keeps its value and its place (for values a key determines, either will do)."""
        with self._guard:
            if key not in self._entries:
                self._insert(key, value)

    def pop(self, key: K) -> V | None:
        with self._guard:
            return self._remove(key)

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._guard:
            return key in self._entries

    @property
    def total_cost(self) -> int:
        with self._guard:
            return self._total

    def keys(self) -> list[K]:
        """Held keys, least recently used first."""
        with self._guard:
            return list(self._entries)

    def _insert(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._total += self._cost(value) if self._cost else 0
        while self._entries and self._over():  # an entry costlier than max_cost on its own goes too
            _, dropped = self._entries.popitem(last=False)
            self._total -= self._cost(dropped) if self._cost else 0

    def _over(self) -> bool:
        if self.max_entries is not None and len(self._entries) > self.max_entries:
            return True
        return self.max_cost is not None and self._total > self.max_cost

    def _remove(self, key: K) -> V | None:
        value = self._entries.pop(key, None)
        if value is not None and self._cost:
            self._total -= self._cost(value)
        return value
