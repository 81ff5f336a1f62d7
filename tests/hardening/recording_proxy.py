"""A recording reverse proxy for the hardening tests: forwards every request to one backend
and keeps (method, path, headers) of each, so a test can show what did or did not reach the
target (e.g. no ``X-Debug-Fault`` header ever reaches a production target)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import httpx

__all__ = ["RecordedRequest", "RecordingProxy"]

# hop-by-hop headers are the proxy's own business (RFC 9110 7.6.1)
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host"}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client closing its keep-alive connection is no news


class RecordingProxy:
    """``with RecordingProxy(upstream) as proxy: ... proxy.url ... proxy.requests``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=self.upstream, timeout=60.0)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                with proxy._lock:
                    proxy.requests.append(RecordedRequest(self.command, self.path, headers))
                upstream = proxy._client.request(
                    self.command,
                    self.path,
                    content=body,
                    headers={k: v for k, v in headers.items() if k not in _HOP},
                )
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.multi_items():
                    if key.lower() not in _HOP | {"content-length", "content-encoding"}:
                        self.send_header(key, value)
                self.send_header("content-length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the records are the output

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def with_header(self, name: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if name.lower() in r.headers]

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()
