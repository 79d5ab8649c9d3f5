"""The operator's cycle-collector setting: CPython's own by default, fewer young
collections while a restart decodes thousands of Flows when asked for."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from flowops import memory


@pytest.fixture(autouse=True)
def restored_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.parametrize(
    ("setting", "young"),
    [
        (None, 700),  # the default: CPython's own
        ("2000", 2_000),
        ("25000", 25_000),
        ("0", 700),  # 0 leaves the threshold as it was
    ],
)
def test_young_generation_threshold(monkeypatch: pytest.MonkeyPatch, setting: str | None, young: int) -> None:
    gc.set_threshold(700, 10, 10)
    if setting is None:
        monkeypatch.delenv("FLOWOPS_GC_THRESHOLD", raising=False)
    else:
        monkeypatch.setenv("FLOWOPS_GC_THRESHOLD", setting)
    assert memory.collect_cycles_less_often() == young
    assert gc.get_threshold() == (young, 10, 10)  # the older generations keep theirs
