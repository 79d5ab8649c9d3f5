"""One lock per key (a flow, a client), held only while someone uses it.

A dictionary of locks keyed by object grows by one entry per object ever seen; here an
entry lives while a thread holds or waits for its lock and is dropped with the last one.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[Hashable, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            lock, users = self._entries.get(key) or (threading.Lock(), 0)
            self._entries[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._entries[key]
                if users == 1:
                    del self._entries[key]
                else:
                    self._entries[key] = (lock, users - 1)

    def users(self, key: Hashable) -> int:
        """How many threads hold or wait for `key`'s lock."""
        with self._guard:
            return self._entries.get(key, (None, 0))[1]

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)
