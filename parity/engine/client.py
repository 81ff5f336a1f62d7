"""HTTP clients for the backends under test.

:class:`BackendClient` wraps one :class:`httpx.Client` per role, so each role keeps its own
keep-alive connections and cookies, and adds the role's auth headers to every request.
Transport failures become :mod:`parity.core.errors` exceptions whose message names the backend,
its URL and the setting to change; any HTTP answer, whatever its status, is returned as it
is: judging it is the checks' job.

Failing backends are a matrix state, not a crash, and nothing about them is hidden:

- a body larger than ``max_response_mb`` is not read past the limit
  (:class:`~parity.core.errors.ResponseTooLarge`);
- a connection-level failure is retried ``retries`` times, and every request that needed
  more than one attempt is logged (:attr:`BackendClient.retry_log`, shown on the records of
  the test that sent it); what is retried, the limit and the wording:
  :mod:`parity.engine.transport`;
- after ``down_after`` requests in a row failed that way the backend is marked down and
  every later request fails at once (:class:`~parity.core.errors.BackendDown`) instead of
  waiting for a timeout each.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from parity.core.config import AuthSettings, Credentials, Settings
from parity.core.errors import (
    BackendDown,
    BackendError,
    BackendTimeout,
    BackendUnreachable,
    ConfigError,
    GuardRefused,
    ResponseTooLarge,
    connect_failure_reason,
)
from parity.engine.auth import ANONYMOUS, NoAuthProvider, TokenProvider, provider_for
from parity.engine.closing import Closing
from parity.engine.transport import (
    DEFAULT_MAX_RESPONSE_MB,
    DEFAULT_RETRIES,
    IDEMPOTENT,
    MAX_RESPONSE_SETTING,
    TIMEOUT_SETTING,
    Retry,
    TooLarge,
    backoff,
    closed_reason,
    limit_hook,
    with_attempts,
)

__all__ = [
    "ATTEMPTS_EXTENSION",
    "DEFAULT_DOWN_AFTER",
    "BackendClient",
    "Backends",
    "ping",
]

DEFAULT_DOWN_AFTER = 3
#: Key in ``httpx.Response.extensions`` holding how many attempts the answer took.
ATTEMPTS_EXTENSION = "parity_attempts"


@dataclass
class _Health:
    """Consecutive connection-level failures of one backend, and whether it is down."""

    failures: int = 0
    down: str | None = None  # why it was marked down


def _current_test() -> str | None:
    """The pytest node id running now, when under pytest."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0] or None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class BackendClient(Closing):
    """Requests to one backend, as any role.

    ``path`` may be relative to ``base_url`` or absolute (e.g. a presigned S3 URL).
    Explicit ``headers`` win over the auth headers, so a scenario can send a malformed
    ``Authorization`` on purpose. ``refused_headers`` (lower-case names) are never sent: a
    request carrying one raises :class:`GuardRefused` (the production guard's fault
    headers, see :func:`parity.engine.guard.refused_headers`).
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        auth: TokenProvider | None = None,
        timeout: float = 30.0,
        *,
        transport: httpx.BaseTransport | None = None,
        refused_headers: Iterable[str] = (),
        retries: int = DEFAULT_RETRIES,
        max_response_mb: float = DEFAULT_MAX_RESPONSE_MB,
        down_after: int = DEFAULT_DOWN_AFTER,
        users: Mapping[str, Credentials] | None = None,
    ) -> None:
        self.name = name
        #: The test users, for the catalog's credential placeholders (parity.engine.credentials).
        self.users: Mapping[str, Credentials] = dict(users or {})
        self.refused_headers = frozenset(h.lower() for h in refused_headers)
        self.base_url = base_url.rstrip("/")
        self.auth = auth or NoAuthProvider(AuthSettings(backend=name, mode="none"))
        self.timeout = timeout
        self.retries = max(0, retries)
        self.max_response_mb = max_response_mb
        self.down_after = max(0, down_after)  # 0: never mark down
        #: Every request that needed more than one attempt, in order.
        self.retry_log: list[Retry] = []
        #: Resources created that the API cannot delete: (test node id, resource, why).
        self.left_log: list[tuple[str | None, str, str]] = []
        self._health = _Health()
        self._transport = transport
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    @property
    def down(self) -> str | None:
        """Why the backend was marked down (None while it is considered up)."""
        return self._health.down

    def mark_down(self, reason: str) -> None:
        """Stop sending to this backend: every later request fails at once with ``reason``."""
        with self._lock:
            self._health.down = reason

    def note_left(self, resource: str, why: str) -> None:
        """A resource the API cannot delete was created (the report counts them)."""
        with self._lock:
            self.left_log.append((_current_test(), resource, why))

    def left_by(self, test: str) -> list[tuple[str, str]]:
        """(resource, why) of each undeletable resource created while ``test`` ran."""
        with self._lock:
            return [(r, why) for t, r, why in self.left_log if t == test]

    def retries_of(self, test: str) -> list[Retry]:
        """The retried requests sent while pytest ran ``test`` (a node id)."""
        with self._lock:
            return [r for r in self.retry_log if r.test == test]

    def client_for(self, role: str = ANONYMOUS) -> httpx.Client:
        """The (lazily created) httpx client of ``role``."""
        with self._lock:
            client = self._clients.get(role)
            if client is None:
                client = httpx.Client(
                    base_url=self.base_url,
                    timeout=self.timeout,
                    transport=self._transport,
                    follow_redirects=False,  # a redirect is an answer worth comparing
                    event_hooks={"response": [limit_hook(self.max_response_mb)]},
                )
                self._clients[role] = client
            return client

    def request(
        self,
        method: str,
        path: str,
        role: str = ANONYMOUS,
        *,
        params: Any = None,
        json: Any = None,
        content: bytes | str | Iterable[bytes] | None = None,
        files: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request as ``role`` and return the answer, whatever its status.

        ``content`` may be an iterable of byte chunks (streamed; give ``Content-Length`` in
        ``headers`` or it goes chunked; a streamed body is never retried). The answer's
        ``extensions[ATTEMPTS_EXTENSION]`` says how many attempts it took."""
        merged = httpx.Headers(self.auth.headers(role))
        for key, value in (headers or {}).items():
            merged[key] = value  # case-insensitive replace: no duplicate Authorization
        method = method.upper()
        absolute = path.startswith(("http://", "https://"))
        target = _origin(path) if absolute else self.base_url
        what = f"{method} {path}"
        refused = sorted(k.lower() for k in merged if k.lower() in self.refused_headers)
        if refused:
            raise GuardRefused(
                f"{what} to the {self.name} backend carries {', '.join(refused)}, which the "
                "production guard refuses to send",
                hint="Run this check against a sandbox or staging target",
            )
        down = self._health.down
        if down is not None and not absolute:
            raise BackendDown(
                self.name,
                self.base_url,
                down,
                hint="Not sent: it is marked down for the rest of the run. Start it or fix "
                f"--{self.name}-url / PARITY_{self.name.upper()}_URL, then re-run",
            )
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        replayable = content is None or isinstance(content, bytes | str)
        reasons: list[str] = []
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.client_for(role).request(
                    method,
                    path,
                    params=params,
                    json=json,
                    content=content,
                    files=files,
                    data=data,
                    headers=merged,
                    **kwargs,
                )
            except TooLarge:
                self._answered(what, attempt, reasons, absolute)
                raise ResponseTooLarge(
                    self.name, what, self.max_response_mb, setting=MAX_RESPONSE_SETTING
                ) from None
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                reasons.append(connect_failure_reason(exc))
                if attempt <= self.retries and replayable:
                    backoff(attempt)
                    continue
                self._failed(what, attempt, reasons, absolute)
                reason = with_attempts(reasons)
                if absolute:
                    raise BackendUnreachable(
                        self.name,
                        target,
                        reason,
                        hint=f"A URL the {self.name} backend handed out does not answer; "
                        "check the storage endpoint it is configured with",
                    ) from None
                raise BackendUnreachable(self.name, self.base_url, reason) from None
            except httpx.TimeoutException:
                self._answered(what, attempt, reasons, absolute, failed=True)
                raise BackendTimeout(
                    self.name,
                    f"{method} {target}{'' if absolute else path}",
                    timeout or self.timeout,
                    setting=TIMEOUT_SETTING,
                ) from None
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                # The connection died before a whole answer: re-sent only when that is
                # harmless (idempotent method, body we can send again).
                reasons.append(closed_reason(exc))
                if attempt <= self.retries and replayable and method in IDEMPOTENT:
                    backoff(attempt)
                    continue
                self._failed(what, attempt, reasons, absolute)
                raise BackendError(
                    f"{self.name} backend closed the connection without a valid answer to "
                    f"{what} ({with_attempts(reasons)})",
                    backend=self.name,
                    url=target,
                    hint="Look at the backend's logs; a proxy may have dropped the request",
                ) from None
            except httpx.HTTPError as exc:
                self._answered(what, attempt, reasons, absolute, failed=True)
                raise BackendError(
                    f"{what} on the {self.name} backend failed ({type(exc).__name__}: {exc})",
                    backend=self.name,
                    url=target,
                    hint="Check the URL and the network between the suite and the backend",
                ) from None
            self._answered(what, attempt, reasons, absolute)
            response.extensions[ATTEMPTS_EXTENSION] = attempt
            return response

    def _log(self, what: str, attempts: int, reasons: list[str], outcome: str) -> None:
        method, _, path = what.partition(" ")
        test = _current_test()
        entry = Retry(self.name, method, path.split("?", 1)[0], attempts, list(reasons), outcome)
        entry.test = test
        with self._lock:
            self.retry_log.append(entry)

    def _answered(
        self, what: str, attempt: int, reasons: list[str], absolute: bool, *, failed: bool = False
    ) -> None:
        """The backend was reached (it answered, or at least accepted the connection)."""
        if attempt > 1:
            self._log(what, attempt, reasons, "failed" if failed else "answered")
        if not absolute:
            with self._lock:
                self._health.failures = 0

    def _failed(self, what: str, attempt: int, reasons: list[str], absolute: bool) -> None:
        """A connection-level failure after every attempt: maybe mark the backend down."""
        if attempt > 1:
            self._log(what, attempt, reasons, "failed")
        if absolute:
            return  # a storage URL failing says nothing about the backend itself
        with self._lock:
            health = self._health
            health.failures += 1
            if self.down_after and health.failures >= self.down_after and health.down is None:
                health.down = (
                    f"marked down after {health.failures} requests in a row failed "
                    f"(last: {what}: {reasons[-1]})"
                )

    def redirect_loop(self, response: httpx.Response, max_hops: int = 20) -> list[str] | None:
        """The chain of URLs when ``response`` (a 3xx) starts a redirect loop, else None.

        Redirects are never followed for the checks; this only looks: the same URL again,
        or (for GET and HEAD) a chain of same-origin redirects that comes back or goes on
        longer than a client follows (``max_hops``: httpx's and the browsers' 20). A long
        chain that ends (httpbin's ``/redirect/11``: eleven hops to ``/get``) is no loop."""
        seen = [str(response.request.url)]
        current = response
        for _ in range(max_hops):
            location = current.headers.get("location")
            if not current.is_redirect or not location:
                return None
            nxt = urljoin(seen[-1], location).split("#", 1)[0]
            if nxt in seen:
                return [*seen, nxt]
            same_origin = _origin(nxt) == _origin(seen[0])
            if current.request.method not in ("GET", "HEAD") or not same_origin:
                return None
            seen.append(nxt)
            try:
                current = self.client_for().request("GET", nxt, headers={"Accept": "*/*"})
            except (httpx.HTTPError, TooLarge):
                return None
        return seen if current.is_redirect else None

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self.auth.close()

    def __repr__(self) -> str:
        return f"BackendClient({self.name!r}, {self.base_url!r}, auth={self.auth.mode})"


class Backends(Closing, Mapping[str, BackendClient]):
    """The clients of the selected backends, by name (``express``, ``serverless``)."""

    def __init__(self, clients: Mapping[str, BackendClient]) -> None:
        self._clients = dict(clients)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        refused_headers: Iterable[str] = (),
    ) -> Backends:
        """One client per selected backend; every selected backend needs a URL.
        ``refused_headers``: see :class:`BackendClient`."""
        clients: dict[str, BackendClient] = {}
        for name in settings.selected_backends:
            url = settings.url_for(name)
            if url is None:
                raise ConfigError(
                    f"no URL for the {name} backend",
                    location=f"--backend={settings.backend}",
                    hint=f"Pass --{name}-url or PARITY_{name.upper()}_URL, "
                    "or leave all URLs unset to start the embedded sandbox",
                )
            auth = provider_for(settings, name, base_url=url, transport=transport)
            clients[name] = BackendClient(
                name,
                url,
                auth,
                settings.timeout,
                transport=transport,
                refused_headers=refused_headers,
                retries=settings.retries,
                max_response_mb=settings.max_response_mb,
                down_after=settings.down_after,
                users=settings.users,
            )
        return cls(clients)

    def __getitem__(self, name: str) -> BackendClient:
        try:
            return self._clients[name]
        except KeyError:
            raise KeyError(
                f"backend {name!r} is not selected (selected: {', '.join(self._clients)})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def __repr__(self) -> str:
        return f"Backends({list(self._clients.values())!r})"


def ping(
    name: str,
    url: str,
    timeout: float = 2.0,
    *,
    path: str = "/",
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Fail fast when a backend does not answer: any HTTP status counts as alive (the
    body is not read).

    Returns the status code; raises :class:`BackendUnreachable` otherwise.
    """
    try:
        with (
            httpx.Client(timeout=timeout, transport=transport) as client,
            client.stream("GET", url.rstrip("/") + path) as response,
        ):
            return response.status_code
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise BackendUnreachable(name, url, connect_failure_reason(exc)) from None
    except httpx.TimeoutException:
        raise BackendUnreachable(name, url, f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        reason = f"no valid answer ({type(exc).__name__}: {exc})"
        raise BackendUnreachable(name, url, reason) from None
