"""HTTP clients for the backends under test.

:class:`BackendClient` wraps one :class:`httpx.Client` per role, so each role keeps its own
keep-alive connections and cookies, and adds the role's auth headers to every request.
Transport failures become :mod:`parity.errors` exceptions whose message names the backend,
its URL and the setting to change; any HTTP answer, whatever its status, is returned as it
is: judging it is the checks' job.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from parity.auth import ANONYMOUS, NoAuthProvider, TokenProvider, provider_for
from parity.config import AuthSettings, Settings
from parity.errors import (
    BackendError,
    BackendTimeout,
    BackendUnreachable,
    ConfigError,
    GuardRefused,
    connect_failure_reason,
)

__all__ = ["TIMEOUT_SETTING", "BackendClient", "Backends", "ping"]

#: Where the user changes the request timeout (named in timeout errors).
TIMEOUT_SETTING = "--timeout / PARITY_TIMEOUT (or timeout in parity.toml)"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class BackendClient:
    """Requests to one backend, as any role.

    ``path`` may be relative to ``base_url`` or absolute (e.g. a presigned S3 URL).
    Explicit ``headers`` win over the auth headers, so a scenario can send a malformed
    ``Authorization`` on purpose. ``refused_headers`` (lower-case names) are never sent: a
    request carrying one raises :class:`GuardRefused` (the production guard's fault
    headers, see :func:`parity.guard.refused_headers`).
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
    ) -> None:
        self.name = name
        self.refused_headers = frozenset(h.lower() for h in refused_headers)
        self.base_url = base_url.rstrip("/")
        self.auth = auth or NoAuthProvider(AuthSettings(backend=name, mode="none"))
        self.timeout = timeout
        self._transport = transport
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

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
        ``headers`` or it goes chunked)."""
        merged = httpx.Headers(self.auth.headers(role))
        for key, value in (headers or {}).items():
            merged[key] = value  # case-insensitive replace: no duplicate Authorization
        refused = sorted(k.lower() for k in merged if k.lower() in self.refused_headers)
        if refused:
            raise GuardRefused(
                f"{method.upper()} {path} to the {self.name} backend carries "
                f"{', '.join(refused)}, which the production guard refuses to send",
                hint="Run this check against a sandbox or staging target",
            )
        absolute = path.startswith(("http://", "https://"))
        target = _origin(path) if absolute else self.base_url
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            return self.client_for(role).request(
                method.upper(),
                path,
                params=params,
                json=json,
                content=content,
                files=files,
                data=data,
                headers=merged,
                **kwargs,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            reason = connect_failure_reason(exc)
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
            raise BackendTimeout(
                self.name,
                f"{method.upper()} {target}{'' if absolute else path}",
                timeout or self.timeout,
                setting=TIMEOUT_SETTING,
            ) from None
        except httpx.RemoteProtocolError as exc:
            raise BackendError(
                f"{self.name} backend closed the connection without a valid answer to "
                f"{method.upper()} {path} ({exc})",
                backend=self.name,
                url=target,
                hint="Look at the backend's logs; a proxy may have dropped the request",
            ) from None
        except httpx.HTTPError as exc:
            raise BackendError(
                f"{method.upper()} {path} on the {self.name} backend failed "
                f"({type(exc).__name__}: {exc})",
                backend=self.name,
                url=target,
                hint="Check the URL and the network between the suite and the backend",
            ) from None

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self.auth.close()

    def __enter__(self) -> BackendClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BackendClient({self.name!r}, {self.base_url!r}, auth={self.auth.mode})"


class Backends(Mapping[str, BackendClient]):
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

    def __enter__(self) -> Backends:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
    """Fail fast when a backend does not answer: any HTTP status counts as alive.

    Returns the status code; raises :class:`BackendUnreachable` otherwise.
    """
    with BackendClient(name, url, timeout=timeout, transport=transport) as client:
        try:
            return client.request("GET", path).status_code
        except BackendTimeout:
            raise BackendUnreachable(name, url, f"no answer within {timeout:g} s") from None
