"""Misbehaving backends on real sockets, for the failing-backend self-tests.

Each runs in a thread of the test process and is reached over TCP by the pytest run under
test (a subprocess), exactly like a real backend:

- :func:`closed_port_url` (connection refused) and :data:`DNS_FAILURE_URL`;
- :class:`BadServer`: ``hang`` (accepts, never answers), ``html`` (200 with an HTML page),
  ``empty`` (200, empty body, no content type), ``huge`` (a 50 MB JSON list, streamed
  chunked), ``redirect-loop`` (302 to the same URL);
- :class:`Proxy`: a reverse proxy in front of a real backend (the sandbox) that can be slow
  (``delay`` seconds on ``/api/`` paths), die after ``die_after`` requests (closes its
  listening socket and every open connection: refused from then on), or drop the first
  request to a path prefix without answering (``drop_once``: a flaky backend).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

__all__ = ["DNS_FAILURE_URL", "MODES", "BadServer", "Proxy", "closed_port_url"]

#: ``.invalid`` never resolves (RFC 2606).
DNS_FAILURE_URL = "http://parity-nonexistent.invalid"
MODES = ("hang", "html", "empty", "huge", "redirect-loop")
HUGE_BYTES = 50 * 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te"}


def closed_port_url() -> str:
    """A URL on a port nobody listens on (bound, then released): connection refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up on a huge body or a hung answer is the point here


class _Running:
    """Start/stop of one threaded HTTP server; ``url`` once started."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self.stopped = threading.Event()
        self.requests = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._closed = False

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self) -> int:
        with self._lock:
            self.requests += 1
            return self.requests

    def start(self) -> _Running:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening (connections are refused from now on) and release hung handlers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real backends

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def owner(self) -> Any:
        return self.server.owner  # type: ignore[attr-defined]

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self.handle_any()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def handle_any(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class _BadHandler(_Handler):
    def handle_any(self) -> None:
        self._body()
        self.owner.count()
        mode = self.owner.mode
        if mode == "hang":
            self.owner.stopped.wait()  # until the test ends; the client times out first
            self.close_connection = True
            return
        if mode == "html":
            page = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"
            self._send(200, page, "text/html; charset=utf-8")
        elif mode == "empty":
            self._send(200, b"", None)
        elif mode == "redirect-loop":
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "huge":
            self._huge()

    def _send(self, status: int, body: bytes, ctype: str | None) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _huge(self) -> None:
        """50 MB of valid JSON, chunked (no Content-Length to refuse it by)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        item = b'{"id":"00000000-0000-4000-8000-000000000000","title":"' + b"x" * 900 + b'"},'
        block = item * 64
        sent = 0
        try:
            self._chunk(b'{"status":"success","message":"ok","data":{"items":[')
            while sent < HUGE_BYTES:
                self._chunk(block)
                sent += len(block)
            self._chunk(b'{"id":"last"}],"page":1,"limit":20,"total":1}}')
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True  # the client stopped reading: expected

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


class BadServer(_Running):
    """A backend that misbehaves in one way (:data:`MODES`) for every request."""

    def __init__(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        self.mode = mode
        super().__init__(_BadHandler)


class _ProxyHandler(_Handler):
    def handle_any(self) -> None:
        owner: Proxy = self.owner
        body = self._body()
        number = owner.count()
        if owner.die_after is not None and number > owner.die_after:
            # Dead: this connection closes without an answer, the port stops listening.
            threading.Thread(target=owner.close, daemon=True).start()
            self._hang_up()
            return
        if owner.take_drop(self.path):
            self._hang_up()
            return
        if owner.delay and self.path.startswith("/api/"):
            time.sleep(owner.delay)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers.pop("Host", None)
        try:
            answer = owner.upstream.request(
                self.command, self.path, headers=headers, content=body or None
            )
        except httpx.HTTPError:
            self._hang_up()
            return
        self.send_response(answer.status_code)
        for key, value in answer.headers.multi_items():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-encoding":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.content)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class Proxy(_Running):
    """A reverse proxy in front of ``upstream`` that is slow, dies, or drops a request."""

    def __init__(
        self,
        upstream: str,
        *,
        delay: float = 0.0,
        die_after: int | None = None,
        drop_once: str | None = None,
    ) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=60.0)
        self.delay = delay
        self.die_after = die_after
        self._drop = drop_once
        self.dropped: list[str] = []
        super().__init__(_ProxyHandler)

    def take_drop(self, path: str) -> bool:
        """True once: for the first request whose path starts with ``drop_once``."""
        with self._lock:
            if self._drop is None or not path.startswith(self._drop):
                return False
            self._drop = None
            self.dropped.append(path)
            return True

    def close(self) -> None:
        super().close()
        self.upstream.close()
