"""Credentials are re-read at most once a second, not before every request, and a rotated
in-cluster token is still picked up."""

from __future__ import annotations

import datetime
from pathlib import Path

import kubernetes
from kubernetes.config.incluster_config import InClusterConfigLoader

from flowops.kube.client import Kube, ThrottledRefresh


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def authorization(kube: Kube) -> str:
    _, _, headers, _, _ = kube.api.param_serialize("GET", "/api/v1/namespaces", header_params={}, auth_settings=["BearerToken"])
    return str(headers["authorization"]).split(" ", 1)[1]


def test_the_hook_runs_once_per_interval() -> None:
    calls: list[float] = []
    clock = Clock()
    configuration = kubernetes.client.Configuration()
    throttled = ThrottledRefresh(lambda c: calls.append(clock.now), interval=1.0, clock=clock)
    for step in (0.0, 0.25, 0.25, 0.25, 0.5, 0.5, 0.75):
        clock.now += step
        throttled(configuration)
    assert calls == [100.0, 101.25, 102.5]


def in_cluster(tmp_path: Path, token: str) -> tuple[kubernetes.client.Configuration, Path]:
    token_file, ca_file = tmp_path / "token", tmp_path / "ca.crt"
    token_file.write_text(token)
    ca_file.write_text("not checked here")
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    loader = InClusterConfigLoader(str(token_file), str(ca_file), environ=environ)  # type: ignore[no-untyped-call]
    loader._token_refresh_period = datetime.timedelta(0)  # as if every read were a minute apart
    configuration = kubernetes.client.Configuration()
    loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
    return configuration, token_file


def test_a_rotated_in_cluster_token_is_used_after_the_interval(tmp_path: Path) -> None:
    configuration, token_file = in_cluster(tmp_path, "first")
    kube = Kube(configuration)
    clock = Clock()
    hook = configuration.refresh_api_key_hook
    assert isinstance(hook, ThrottledRefresh)
    hook.clock = clock
    assert authorization(kube) == "first"
    token_file.write_text("second")
    clock.now += 0.5
    assert authorization(kube) == "first"  # within the interval: not re-read
    clock.now += 0.6
    assert authorization(kube) == "second"
    # The library re-installs its hook on each refresh: the throttle stays in front of it.
    assert configuration.refresh_api_key_hook is hook
    token_file.write_text("third")
    clock.now += 0.1
    assert authorization(kube) == "second"
    clock.now += 1.0
    assert authorization(kube) == "third"
