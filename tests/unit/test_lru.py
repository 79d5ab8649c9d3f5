"""The bounded LRU every cache shares: what it forgets first, and what counts as a use."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from flowops.lru import BoundedLRU


def run(cache: BoundedLRU[str, str], script: str) -> list[Any]:
    """Apply each step ("put a=1", "get a", ...); return what get, peek and pop returned."""
    seen = []
    for step in script.split(", "):
        method, arg = step.split(" ")
        key, _, value = arg.partition("=")
        result = getattr(cache, method)(key, value) if value else getattr(cache, method)(key)
        if method in ("get", "peek", "pop"):
            seen.append(result)
    return seen


@pytest.mark.parametrize(
    ("script", "held", "seen"),
    [
        pytest.param("put a=1, put b=2, put c=3, put d=4", "bcd", [], id="oldest-first"),
        pytest.param("put a=1, put b=2, put c=3, get a, put d=4", "cad", ["1"], id="get-refreshes"),
        pytest.param("put a=1, put b=2, put c=3, peek a, put d=4", "bcd", ["1"], id="peek-does-not"),
        pytest.param("put a=1, put b=2, put c=3, touch a, touch x, put d=4", "cad", [], id="touch-refreshes"),
        pytest.param("put a=1, put b=2, put a=9, get a", "ba", ["9"], id="put-replaces-and-refreshes"),
        pytest.param("add a=1, add b=2, add a=9, peek a", "ab", ["1"], id="add-keeps-value-and-place"),
        pytest.param("put a=1, put b=2, pop a, pop a, put c=3, put d=4", "bcd", ["1", None], id="pop"),
        pytest.param("get x, peek x", "", [None, None], id="miss"),
    ],
)
def test_entry_bound(script: str, held: str, seen: list[Any]) -> None:
    cache: BoundedLRU[str, str] = BoundedLRU(3)
    assert run(cache, script) == seen
    assert cache.keys() == list(held) and len(cache) == len(held)


@pytest.mark.parametrize(
    ("script", "held", "total"),
    [
        pytest.param("put a=xxxx, put b=xxxx, put c=xxx", "bc", 7, id="over-cost-drops-oldest"),
        pytest.param("put a=xxxx, put b=xxxx, get a, put c=xxx", "ac", 7, id="get-refreshes"),
        pytest.param("put a=xx, put b=xx, put c=xxxxxxxxx", "c", 9, id="one-large-drops-several"),
        pytest.param("put a=xx, put b=xxxxxxxxxxx", "", 0, id="costlier-than-the-bound-is-not-held"),
        pytest.param("put a=xx, put a=xxxxx", "a", 5, id="replace-recounts"),
        pytest.param("put a=xx, add a=xxxxx", "a", 2, id="add-keeps"),
        pytest.param("put a=xx, put b=xxx, pop a", "b", 3, id="pop-uncounts"),
    ],
)
def test_cost_bound(script: str, held: str, total: int) -> None:
    cache: BoundedLRU[str, str] = BoundedLRU(max_cost=10, cost=len)
    run(cache, script)
    assert cache.keys() == list(held) and cache.total_cost == total


def test_both_bounds_apply() -> None:
    cache: BoundedLRU[str, str] = BoundedLRU(2, max_cost=10, cost=len)
    run(cache, "put a=x, put b=x, put c=x")
    assert cache.keys() == ["b", "c"]
    run(cache, "put d=xxxxxxxxxx")
    assert cache.keys() == ["d"] and cache.total_cost == 10


def test_falsy_values_are_held() -> None:
    cache: BoundedLRU[str, int] = BoundedLRU(2)
    cache.add("zero", 0)
    assert cache.get("zero") == 0 and cache.peek("zero") == 0 and "zero" in cache


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({}, "needs max_entries"), ({"max_cost": 5}, "go together"), ({"max_entries": 5, "cost": len}, "go together")],
)
def test_a_bound_is_required(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        BoundedLRU(**kwargs)


def test_threads_never_exceed_the_bounds() -> None:
    cache: BoundedLRU[int, str] = BoundedLRU(50, max_cost=400, cost=len)

    def work(offset: int) -> None:
        for n in range(2000):
            cache.put(offset + n % 120, "x" * (n % 13))
            cache.get(offset + (n * 7) % 120)

    threads = [threading.Thread(target=work, args=(t * 60,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = cache.keys()
    assert len(held) <= 50
    assert cache.total_cost == sum(len(cache.peek(k) or "") for k in held) <= 400
