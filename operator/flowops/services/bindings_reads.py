"""What one fan-out reads once and shares across its clients: the Flow, its version
list, Applications, materialised documents and, for many clients, a Snapshot of the
namespace's ApiClients and ConfigMaps."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain import guardrails, materialise, values
from ..domain.canonical import canonical_json, content_hash
from ..domain.commit import VersionRecord
from ..keyedlocks import KeyedLocks
from ..kube import APICLIENTS, APPLICATIONS, CONFIGMAPS, FLOWS, FLOWVERSIONS, Kube
from ..names import LABEL_MATERIALISED
from . import verdicts, versions
from .bindings_concurrency import BindingState


@dataclass(frozen=True)
class Snapshot:
    """One namespace's ApiClients and the metadata of flowops' ConfigMaps, by name, listed
    after sequence number `taken`. Names it lacks (new clients, foreign ConfigMaps) are
    read one by one."""

    namespace: str
    taken: int
    clients: Mapping[str, Mapping[str, Any]]
    configmaps: Mapping[str, Mapping[str, Any]]

    def usable(self, namespace: str, last_reconciled: int | None) -> bool:
        """Not for a client reconciled since the listing began: that reconcile may have
        written (its own handler, or the failed attempt this one retries). A change not
        yet reconciled is safe: its handler runs after us and reads fresh."""
        return namespace == self.namespace and (last_reconciled is None or last_reconciled < self.taken)


class Reads:
    """A fresh one per fan-out, so nothing is cached across events. Each item is loaded
    once: a fan-out's first workers all ask for the same version at the same moment."""

    def __init__(self, kube: Kube, state: BindingState) -> None:
        self.kube, self.state = kube, state
        self._memo: dict[tuple[str, ...], Any] = {}
        self._loading = KeyedLocks()
        self.snapshot: Snapshot | None = None

    def take_snapshot(self, namespace: str) -> None:
        """Two LISTs instead of two GETs per client (the ConfigMaps as metadata only)."""
        taken = self.state.next_sequence()
        clients = self.kube.list(APICLIENTS, namespace)
        maps = self.kube.list(CONFIGMAPS, namespace, label_selector=f"{LABEL_MATERIALISED}=true", metadata_only=True)
        self.snapshot = Snapshot(
            namespace,
            taken,
            {c["metadata"]["name"]: c for c in clients},
            {m["metadata"]["name"]: m["metadata"] for m in maps},
        )

    def take_resume_snapshot(self, namespace: str) -> None:
        """For a restart's resumes: the namespace's flowops ConfigMaps (metadata), listed once
        for all of them instead of one GET each; their own bodies come with the resume."""

        def take(taken: int) -> Snapshot:
            maps = self.kube.list(CONFIGMAPS, namespace, label_selector=f"{LABEL_MATERIALISED}=true", metadata_only=True)
            return Snapshot(namespace, taken, {}, {m["metadata"]["name"]: m["metadata"] for m in maps})

        self.snapshot = self.state.resume_snapshot(namespace, take)

    def snapshot_for(self, namespace: str, client: str) -> Snapshot | None:
        """The snapshot if it may stand in for fresh reads of this client (call under its lock)."""
        snapshot = self.snapshot
        if snapshot is None or not snapshot.usable(namespace, self.state.last_reconciled(namespace, client)):
            return None
        return snapshot

    def _get(self, key: tuple[str, ...], load: Callable[[], Any]) -> Any:
        if key not in self._memo:
            with self._loading.hold(key):
                if key not in self._memo:
                    self._memo[key] = load()
        return self._memo[key]

    def flow(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._get(("flow", namespace, name), lambda: self.kube.get_or_none(FLOWS, name, namespace))

    def records(self, namespace: str, flow: str, uid: str) -> list[VersionRecord]:
        return self._get(
            ("records", namespace, flow, uid), lambda: versions.list_records(self.kube, namespace, flow, owner_uid=uid)
        )

    def application(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._get(("app", namespace, name), lambda: self.kube.get_or_none(APPLICATIONS, name, namespace))

    def document(self, namespace: str, flow: str, record: VersionRecord) -> tuple[bytes, str]:
        """Canonical JSON and transition of a version (immutable, so safe to share)."""

        def load() -> tuple[bytes, str]:
            version = self.kube.get(FLOWVERSIONS, record.name, namespace)
            document = versions.decode(self.kube, namespace, flow, version)
            return canonical_json(document), (version.get("spec") or {}).get("transition") or "RestartInProgress"

        return self._get(("doc", namespace, flow, record.id), load)

    def judged(self, namespace: str, flow: str, record: VersionRecord, rules: guardrails.CompiledRules) -> VersionRecord:
        """The version judged under `rules` and the verdict recorded, once per fan-out
        however many clients pin it."""

        def load() -> VersionRecord:
            raw, _ = self.document(namespace, flow, record)
            return verdicts.judge(self.kube, namespace, record, json.loads(raw), rules)

        return self._get(("verdict", namespace, flow, record.id, rules.digest), load)

    def rendering(
        self, namespace: str, flow: str, record: VersionRecord, env_values: Mapping[str, Any], environment: str
    ) -> materialise.Rendering | values.Unrenderable:
        """The version as this environment's ConfigMaps serve it, made once per fan-out."""

        def load() -> materialise.Rendering | values.Unrenderable:
            raw, _ = self.document(namespace, flow, record)
            try:
                return materialise.render(raw, env_values, environment)
            except values.Unrenderable as problem:
                return problem

        return self._get(("rendering", namespace, flow, record.id, content_hash(env_values)), load)
