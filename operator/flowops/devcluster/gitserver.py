"""A smart-HTTP git server on loopback: git's own `git-http-backend` behind a small CGI
gateway, so Flux's source-controller clones over HTTP exactly as from a real forge.

Repositories are bare repositories under one root; pushing is allowed (no auth: loopback
only, for tests and `make run`).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from pathlib import Path


def http_backend() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    backend = Path(exec_path) / "git-http-backend"
    if not backend.exists():
        raise RuntimeError(f"{backend} not found: install git (Debian ships git-http-backend with it)")
    return str(backend)


class _CGIHandler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._run()

    def do_POST(self) -> None:
        self._run()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: a clone is a dozen requests

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            # git sends large pushes chunked; CGI wants a plain body with a length.
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _run(self) -> None:
        path, _, query = self.path.partition("?")
        body = self._body() if self.command == "POST" else b""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            # A named user enables receive-pack (push) without per-repository config.
            "REMOTE_USER": "flowops",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        if encoding := self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = encoding
        if protocol := self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = protocol
        result = subprocess.run([self.server.backend], input=body, capture_output=True, env=env)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = result.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        if result.returncode != 0 and not head:
            status, payload = 500, result.stderr
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, backend: str) -> None:
        super().__init__(("127.0.0.1", 0), _CGIHandler)
        self.root, self.backend = root, backend


class GitServer:
    """`with GitServer(root) as git:` then `git.create("fleet")` → its clone URL."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, repository: str) -> str:
        return f"{self.base_url}/{repository}.git"

    def start(self) -> GitServer:
        self.root.mkdir(parents=True, exist_ok=True)
        self._server = _Server(self.root, http_backend())
        self._thread = threading.Thread(target=self._server.serve_forever, name="git-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def create(self, repository: str, branch: str = "main") -> str:
        """A new empty bare repository; returns its clone URL."""
        path = self.root / f"{repository}.git"
        subprocess.run(["git", "init", "--quiet", "--bare", f"--initial-branch={branch}", str(path)], check=True)
        return self.url(repository)

    def __enter__(self) -> GitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Checkout:
    """A working copy of a repository on the server: write files, commit, push."""

    def __init__(self, url: str, path: Path, branch: str = "main") -> None:
        self.url, self.path, self.branch = url, Path(path), branch
        self.path.mkdir(parents=True, exist_ok=True)
        self._git("init", "--quiet", f"--initial-branch={branch}")
        self._git("remote", "add", "origin", url)
        for key, value in (("user.name", "flowops tests"), ("user.email", "tests@flowops.invalid"), ("commit.gpgsign", "false")):
            self._git("config", key, value)

    def _git(self, *args: str) -> str:
        result = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def write(self, relative: str, text: str) -> Path:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def remove(self, relative: str) -> None:
        self._git("rm", "--quiet", "-r", relative)

    def commit_and_push(self, message: str) -> str:
        """Commits everything in the working copy and pushes; returns the commit's SHA."""
        self._git("add", "--all")
        self._git("commit", "--quiet", "--allow-empty", "-m", message)
        self._git("push", "--quiet", "origin", f"HEAD:refs/heads/{self.branch}")
        return self._git("rev-parse", "HEAD")
