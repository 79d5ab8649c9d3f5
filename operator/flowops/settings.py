"""Deliberate Kopf settings for large documents and many objects."""

from __future__ import annotations

import logging
import os
import socket

import kopf

from . import envsettings
from .diffbase import DigestDiffBaseStorage
from .metricshooks import TimedExecutor
from .names import FIELD_MANAGER
from .storagekeys import ProgressStorage

PREFIX = "kopf.flowops.io"


def configure(settings: kopf.OperatorSettings) -> None:
    # State stays in small annotations under our own prefix; never a document copy.
    settings.persistence.diffbase_storage = DigestDiffBaseStorage(prefix=PREFIX, key="last-handled")
    settings.persistence.progress_storage = ProgressStorage(prefix=PREFIX)
    settings.persistence.finalizer = "flowops.io/finalizer"
    # Events for warnings and above only: our own handlers post the meaningful ones.
    settings.posting.level = logging.WARNING
    # Events say they come from flowops (kubectl describe's "From"), and from which replica.
    settings.posting.reporting_component = FIELD_MANAGER
    settings.posting.reporting_instance = os.environ.get("POD_NAME") or socket.gethostname()
    # A replica that stops renewing is declared dead after this long: the failover bound.
    settings.peering.lifetime = envsettings.integer("FLOWOPS_PEERING_LIFETIME")
    # Sync handlers run in a bounded thread pool so hundreds of events do not fan out into
    # hundreds of threads. The per-object asyncio workers stay unlimited: a cap there
    # deadlocks start-up once objects outnumber it (workers wait for the indexes, which
    # wait for objects that never get a worker).
    settings.execution.executor = TimedExecutor(thread_name_prefix="flowops-handler")  # measures the wait for a thread
    settings.execution.max_workers = envsettings.integer("FLOWOPS_MAX_WORKERS")
    settings.watching.server_timeout = 300
    # Start-up lists each kind in pages: one response with every Flow held all their
    # documents at once, as bytes, as text and as objects, on top of the events queued.
    settings.watching.chunk_size = envsettings.integer("FLOWOPS_LIST_CHUNK_SIZE") or None
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
