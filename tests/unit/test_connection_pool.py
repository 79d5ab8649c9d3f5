"""The operator's client keeps a connection for every thread that may call at once: a
connection beyond the pool is dropped after its request (urllib3 warns "Connection pool is
full") and made anew, TLS handshake and all, for the next one."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import kubernetes
import pytest

from flowops.kube import Kube
from flowops.services import process

HANDLER_THREADS = 2  # the pool's size follows the handler threads: a small count keeps this fast


def _server(callers: int) -> ThreadingHTTPServer:
    """Answers once `callers` requests are in at the same time: each holds its connection until then."""
    together = threading.Barrier(callers, timeout=20)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            together.wait()
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = callers  # all connect at once: none waits for a SYN retry

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    return server


def _calls_at_once(kube: Kube, callers: int) -> None:
    with ThreadPoolExecutor(max_workers=callers) as pool:
        for done in [pool.submit(kube.request, "GET", "/api") for _ in range(callers)]:
            done.result()


@pytest.mark.parametrize(("pool", "dropped"), [(None, False), (16, True)])
def test_every_thread_that_may_call_at_once_keeps_its_connection(
    caplog: pytest.LogCaptureFixture, pool: int | None, dropped: bool
) -> None:
    callers = process.pool_size(HANDLER_THREADS)
    server = _server(callers)
    try:
        configuration = kubernetes.client.Configuration()
        configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
        size = pool if pool is not None else process.pool_size(HANDLER_THREADS)
        kube = Kube(configuration, pool_size=size)
        with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
            _calls_at_once(kube, callers)
        full = [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
        assert bool(full) is dropped, [r.getMessage() for r in full]
    finally:
        server.shutdown()
