"""A fan-out reads and renders a version once for all its clients in an environment."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.domain import materialise, storage
from flowops.domain.commit import VersionRecord
from flowops.services.bindings_concurrency import BindingState
from flowops.services.bindings_reads import Reads

DOCUMENT = {"greeting": "Hello $(values.company)", "forms": {"signIn": ["identifier"]}}
RECORD = VersionRecord(name="signin-00003", id="v3", number=3, content_hash="h3")


class FakeKube:
    def __init__(self) -> None:
        self.gets: list[str] = []

    def get(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        self.gets.append(name)
        return {"spec": {"storage": storage.encode(DOCUMENT).to_spec(), "transition": "RestartAll"}}


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real = materialise.render

    def counted(raw: bytes, env_values: Any, environment: str) -> materialise.Rendering:
        calls.append(dict(env_values or {}))
        return real(raw, env_values, environment)

    monkeypatch.setattr(materialise, "render", counted)
    return calls


def test_one_read_and_one_rendering_serve_every_client(renders: list[dict[str, Any]]) -> None:
    kube = FakeKube()
    reads = Reads(kube, BindingState())  # type: ignore[arg-type]
    results = [reads.rendering("dev", "signin", RECORD, {"company": "Acme"}, "dev") for _ in range(5)]
    assert kube.gets == ["signin-00003"]
    assert renders == [{"company": "Acme"}]
    assert all(r is results[0] for r in results)
    assert isinstance(results[0], materialise.Rendering) and '"Hello Acme"' in results[0].text


def test_other_values_are_rendered_again(renders: list[dict[str, Any]]) -> None:
    reads = Reads(FakeKube(), BindingState())  # type: ignore[arg-type]
    first = reads.rendering("dev", "signin", RECORD, {"company": "Acme"}, "dev")
    second = reads.rendering("dev", "signin", RECORD, {"company": "Globex"}, "dev")
    assert renders == [{"company": "Acme"}, {"company": "Globex"}]
    assert isinstance(second, materialise.Rendering) and "Globex" in second.text and first != second


def test_a_missing_value_is_reported_to_each_client_without_rendering_again(renders: list[dict[str, Any]]) -> None:
    from flowops.domain import values

    reads = Reads(FakeKube(), BindingState())  # type: ignore[arg-type]
    problems = [reads.rendering("dev", "signin", RECORD, {}, "dev") for _ in range(3)]
    assert all(isinstance(p, values.Unrenderable) and "company" in str(p) for p in problems)
    assert len(renders) == 1


def test_workers_asking_at_the_same_moment_share_one_read(renders: list[dict[str, Any]]) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    started = threading.Barrier(8)

    class SlowKube(FakeKube):
        def get(self, resource: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
            result = super().get(resource, name, namespace)
            threading.Event().wait(0.05)  # the API server's round trip, while the others ask too
            return result

    kube = SlowKube()
    reads = Reads(kube, BindingState())  # type: ignore[arg-type]

    def worker(_: int) -> Any:
        started.wait()
        return reads.rendering("dev", "signin", RECORD, {"company": "Acme"}, "dev")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    assert kube.gets == ["signin-00003"]
    assert len(renders) == 1 and all(r is results[0] for r in results)
