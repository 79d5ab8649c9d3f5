"""The operator's own HTTP endpoints (liveness, metrics): addresses and free ports."""

from __future__ import annotations

import errno
import socket

from .metrics import parse_address


def port_problem(url: str, default_port: int) -> str | None:
    """Why the endpoint cannot listen (e.g. "port 8080 is in use"), or None."""
    host, port = parse_address(url, default_port)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is in use"
            return f"cannot listen on {host}:{port} ({exc.strerror})"
    return None
