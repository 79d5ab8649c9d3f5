"""A Flow watch event as the operator's watcher hands it over, for unit tests of what waits
on a flow's first event (resumed ApiClients and Applications)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..runtime import Runtime
from ..services import flowevents


async def flow_event(rt: Runtime, env: Mapping[str, Any], name: str, head: str | None, type_: str = "ADDED") -> None:
    """Flow `name`'s event in `env`'s namespace, bringing `head`; no other Environment exists."""
    await flowevents.observe(
        rt,
        type_,
        name,
        env["spec"]["namespace"],
        None,
        env,
        env_by_name=lambda _: None,
        all_environments=lambda: [env],
        known_counts=None,
        indexed_env=lambda _: None,
        head=head,
    )
