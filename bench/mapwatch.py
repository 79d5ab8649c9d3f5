"""ConfigMap versions seen on a watch that runs in a process of its own.

Decoding every ConfigMap a fan-out writes (200 × 100 KB) costs CPU. In the benchmark's
process it would compete for the interpreter with the baseline's own writer threads, and
not with the operator's (another process): the watch runs apart for both, and reports
each change of `data.version` as one short line with its arrival time (the monotonic
clock is the machine's, the same in every process).

`python -m bench.mapwatch KUBECONFIG CONTEXT NAMESPACE...` prints `ready` once every
namespace is listed, then `namespace name version time` per change.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowops.kube import CONFIGMAPS, Kube

from .watch import Watch, wait_on


class ConfigMapVersions:
    """`with ConfigMapVersions(kubeconfig, context, namespaces) as seen:` follows every
    ConfigMap's data.version in those namespaces through the watching process."""

    def __init__(self, kubeconfig: Path, context: str, namespaces: list[str]) -> None:
        self.command = [sys.executable, "-m", "bench.mapwatch", str(kubeconfig), context, *namespaces]
        self.version: dict[tuple[str, str], str] = {}
        self.last_at: dict[str, float] = {}
        self.changed = threading.Condition()
        self.ready = False
        self.ended = False
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> ConfigMapVersions:
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True, name="mapwatch-reader")
        self._reader.start()
        self.wait(lambda: self.ready, 60, "the ConfigMap watch to list")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)

    def all_at(self, namespace: str, names: list[str], version: str) -> float | None:
        """When the last of these ConfigMaps reached `version`, once all have."""
        if all(self.version.get((namespace, name)) == version for name in names):
            return self.last_at.get(namespace, 0.0)
        return None

    def wait(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        def failed() -> str | None:
            return f"the ConfigMap watch ended while waiting for {what}" if self.ended else None

        return wait_on(self.changed, predicate, failed, timeout, what)

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            parts = line.split()
            with self.changed:
                if parts == ["ready"]:
                    self.ready = True
                elif len(parts) == 4:
                    namespace, name, version, at = parts
                    self.version[(namespace, name)] = version
                    self.last_at[namespace] = float(at)
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()


def main(kubeconfig: str, context: str, namespaces: list[str]) -> None:
    kube = Kube.from_kubeconfig(kubeconfig, context)
    seen: dict[tuple[str, str], str] = {}
    out = threading.Lock()

    def follow(namespace: str) -> Callable[[str, dict[str, Any], float], None]:
        def on_event(kind: str, obj: dict[str, Any], now: float) -> None:
            key = (namespace, obj["metadata"]["name"])
            version = (obj.get("data") or {}).get("version")
            if kind == "DELETED" or not version or seen.get(key) == version:
                return
            seen[key] = version
            with out:
                print(namespace, key[1], version, f"{now:.6f}", flush=True)

        return on_event

    watches = [Watch(kube, CONFIGMAPS, namespace, follow(namespace)).start() for namespace in namespaces]
    print("ready", flush=True)
    while all(w.error is None for w in watches):
        time.sleep(0.5)
    raise SystemExit(f"watch failed: {next(w.error for w in watches if w.error is not None)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
