"""One invocation's connection and context: kubeconfig, context, environment, output."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any

import kubernetes

from ..domain.commit import VersionRecord
from ..kube import ENVIRONMENTS, FLOWS, Kube, NotFound
from ..services import versions
from . import environments as envs
from .environments import Environment
from .errors import UserError
from .output import Output

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class Session:
    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None, output: Output) -> None:
        self.kubeconfig, self.context, self.namespace = kubeconfig, context, namespace
        self.output = output
        self._records: dict[tuple[str, str], list[VersionRecord]] = {}

    @cached_property
    def kube(self) -> Kube:
        try:
            return Kube.from_kubeconfig(self.kubeconfig, self.context, field_manager="kubectl-flowops")
        except (kubernetes.config.ConfigException, OSError) as exc:
            raise UserError(f"cannot load kubeconfig: {exc}") from None

    # -- environments ---------------------------------------------------------------------
    @cached_property
    def environments(self) -> list[Environment]:
        return envs.order([Environment.from_object(o) for o in self.kube.list(ENVIRONMENTS)])

    def environment(self, wanted: str) -> Environment:
        """An Environment by name or namespace; a namespace no Environment claims is
        accepted when it holds flows (flows can live outside any environment)."""
        found = envs.pick(self.environments, wanted)
        if found:
            return found
        if _NAMESPACE.match(wanted) and self.kube.list(FLOWS, wanted, metadata_only=True, page_size=1):
            return Environment.bare_namespace(wanted)
        raise envs.unknown(wanted, self.environments)

    def current_environment(self) -> Environment:
        """The environment of -n, else of the kubeconfig context's namespace."""
        wanted = self.namespace or self._context_namespace()
        if not wanted:
            names = ", ".join(e.name for e in self.environments) or "none yet"
            raise UserError("no environment given: pass -n ENVIRONMENT (a name or a namespace)", hint=f"environments: {names}")
        return self.environment(wanted)

    def _context_namespace(self) -> str | None:
        try:
            contexts, active = kubernetes.config.list_kube_config_contexts(self.kubeconfig)
        except (kubernetes.config.ConfigException, OSError):
            return None
        chosen = next((c for c in contexts if c.get("name") == self.context), None) if self.context else active
        return ((chosen or {}).get("context") or {}).get("namespace")

    # -- flows ----------------------------------------------------------------------------
    def flow(self, env: Environment, name: str) -> dict[str, Any]:
        try:
            return self.kube.get(FLOWS, name, env.namespace)
        except NotFound:
            raise self.unknown_flow(env, name) from None

    def unknown_flow(self, env: Environment, name: str) -> UserError:
        present = sorted(o["metadata"]["name"] for o in self.kube.list(FLOWS, env.namespace, metadata_only=True))
        shown = ", ".join(present[:20]) + (f" and {len(present) - 20} more" if len(present) > 20 else "")
        return UserError(
            f"flow {name!r} not found in environment {env.label} (namespace {env.namespace})",
            hint=f"flows there: {shown}" if present else "there are no flows there",
        )

    def records(self, env: Environment, flow: str) -> list[VersionRecord]:
        """The flow's versions by number (metadata only), read once per invocation."""
        key = (env.namespace, flow)
        if key not in self._records:
            self._records[key] = versions.list_records(self.kube, env.namespace, flow)
        return self._records[key]


def head_of(flow: Mapping[str, Any]) -> str | None:
    return (flow.get("status") or {}).get("latestReadyVersion") or None
