"""A second process's view going stale on cue: tests of two writers run the operator's code
with a client whose chosen call is followed, before it returns, by a change of the world."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..kube import Kube


class ThenAfter:
    """The operator's client, except that its first call that `matches` (method name,
    resource, and the call's own arguments) is followed, before it returns, by `then`:
    what it read or wrote changes meanwhile."""

    def __init__(self, kube: Kube, matches: Callable[..., bool], then: Callable[[], None]) -> None:
        self._kube, self._matches = kube, matches
        self._then: Callable[[], None] | None = then

    def __getattr__(self, method: str) -> Any:
        call = getattr(self._kube, method)
        if not callable(call):
            return call

        def hooked(*args: Any, **kwargs: Any) -> Any:
            answer = call(*args, **kwargs)
            if self._then is not None and self._matches(method, *args, **kwargs):
                then, self._then = self._then, None
                then()
            return answer

        return hooked
