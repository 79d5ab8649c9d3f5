"""How kstatus (sigs.k8s.io/cli-utils, the library Flux health checks are built on) reads
an object: the real library, built by hack/kstatus/build.sh into a cache outside the
checkout (a no-op when cached), asked one object at a time."""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BUILD = Path(__file__).resolve().parents[3] / "hack" / "kstatus" / "build.sh"


@functools.cache
def binary() -> str:
    """Fails (never skips) when it cannot be built: the health tests need it."""
    built = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=1800)
    if built.returncode != 0:
        raise RuntimeError(f"building kstatus failed:\n{built.stderr[-4000:]}")
    return built.stdout.strip().splitlines()[-1]


def compute(obj: Mapping[str, Any]) -> tuple[str, str]:
    result = subprocess.run([binary()], input=json.dumps(obj), capture_output=True, text=True, timeout=60, check=True)
    verdict = json.loads(result.stdout)
    return verdict["status"], verdict["message"]
