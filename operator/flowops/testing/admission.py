"""Barriers for the API server's admission policies.

Policies read Environments (their params) from an informer: a just-created or just-changed
Environment governs admission a moment later. Tests wait for that instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..kube import ENVIRONMENTS, ApiError, Kube
from .waiting import wait_for


def refusal(call: Callable[[], Any]) -> str | None:
    """The denial's message, or None when the request was admitted."""
    try:
        call()
    except ApiError as denied:
        return denied.message or str(denied.status)
    return None


def wait_until_governed(kube: Kube, env: Mapping[str, Any], timeout: float = 30) -> None:
    """Until admission knows the Environment: a rival claim on its namespace is refused
    (a dry run: nothing is written)."""
    rival = {"apiVersion": env["apiVersion"], "kind": "Environment", "metadata": {"name": env["metadata"]["name"] + "-probe"},
             "spec": {"namespace": env["spec"]["namespace"], "tier": "Development"}}
    wait_for(lambda: "already belongs" in (refusal(lambda: kube.create(ENVIRONMENTS, rival, dry_run=True)) or ""),
             timeout=timeout, message=f"admission policies to see Environment {env['metadata']['name']}")


def wait_until_refused(call: Callable[[], Any], words: str, timeout: float = 30) -> str:
    """Until a (dry-run) request is refused with `words` in the message: a policy change took effect."""
    return wait_for(lambda: (m := refusal(call)) is not None and words in m and m, timeout=timeout,
                    message=f"a refusal saying {words!r}")


def wait_until_admitted(call: Callable[[], Any], timeout: float = 30) -> None:
    wait_for(lambda: refusal(call) is None, timeout=timeout, message="the request to be admitted")
