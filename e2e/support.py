"""What the e2e flows need besides page objects: the target, the page's network log (which
backend each API call went to), control of the runtime config, Cognito calls made by the test
itself, and the end-state screenshots kept in ``docs/e2e/``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import BrowserContext, Page, Request, Response, Route

__all__ = [
    "ApiCall",
    "ConfigControl",
    "ConfigFailure",
    "NetworkLog",
    "RoutedConfig",
    "SandboxConfig",
    "WebTarget",
    "cognito_call",
    "failing_config",
    "origin",
]

ROOT = Path(__file__).resolve().parents[1]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class WebTarget:
    """The web app under test and the backends it may call."""

    web_url: str
    is_sandbox: bool  # the sandbox's web app: /__sandbox/config exists
    backends: Mapping[str, str]  # backend name -> base URL (the ones known to the suite)
    users: Mapping[str, tuple[str, str]]  # role -> (username, password)

    def url(self, route: str = "") -> str:
        return self.web_url.rstrip("/") + "/" + route.lstrip("/")

    def backend_of(self, url: str, headers: Mapping[str, str] | None = None) -> str | None:
        """``express`` / ``serverless`` for a request URL (by origin, else by the answer's
        headers: API Gateway's ``apigw-requestid``, Express' ``x-powered-by``)."""
        for name, base in self.backends.items():
            if origin(url) == origin(base):
                return name
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        if "apigw-requestid" in headers:
            return "serverless"
        if "express" in headers.get("x-powered-by", "").lower():
            return "express"
        return None

    def credentials(self, role: str) -> tuple[str, str]:
        try:
            return self.users[role]
        except KeyError:
            raise LookupError(
                f"no password for the {role!r} test user: set PARITY_USER_{role.upper()}_PASSWORD"
            ) from None


@dataclass
class ApiCall:
    method: str
    url: str
    backend: str | None
    authorization: str | None
    status: int | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass
class NetworkLog:
    """Every request the page makes; API calls (``/api/*``, ``/health`` off the web app's
    own origin) are classified by backend."""

    target: WebTarget
    requests: list[Request] = field(default_factory=list)
    calls: list[ApiCall] = field(default_factory=list)
    _by_request: dict[int, ApiCall] = field(default_factory=dict)

    def attach(self, page: Page) -> NetworkLog:
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        return self

    def _is_api(self, url: str) -> bool:
        path = urlsplit(url).path
        api_path = path.startswith("/api/") or path == "/health"
        return api_path and origin(url) != origin(self.target.web_url)

    def _on_request(self, request: Request) -> None:
        self.requests.append(request)
        if request.method != "OPTIONS" and self._is_api(request.url):
            call = ApiCall(
                request.method,
                request.url,
                self.target.backend_of(request.url),
                request.headers.get("authorization"),
            )
            self.calls.append(call)
            self._by_request[id(request)] = call

    def _on_response(self, response: Response) -> None:
        call = self._by_request.get(id(response.request))
        if call is not None:
            call.status = response.status
            if call.backend is None:
                call.backend = self.target.backend_of(call.url, response.headers)

    def mark(self) -> int:
        """A position: ``since=`` it selects what happened afterwards (e.g. after a reload).
        Only for a quiet page: a request still in flight lands after the mark too."""
        return len(self.calls)

    def position(self, request: Request) -> int:
        """Where ``request`` (an API call of this page) is in the log, for ``since=``: a flow's
        calls start at the flow's own first request (``page.expect_request``), not at a mark,
        which a request still in flight from the previous screen can land after."""
        call = self._by_request.get(id(request))
        for index, logged in enumerate(self.calls):
            if logged is call:  # by identity: two calls can be equal field by field
                return index
        raise LookupError(f"not an API call of this page: {request.method} {request.url}")

    def api_calls(self, since: int = 0) -> list[ApiCall]:
        return self.calls[since:]

    def backends(self, since: int = 0) -> set[str | None]:
        return {c.backend for c in self.calls[since:]}

    def expect_only(self, backend: str, since: int = 0) -> list[ApiCall]:
        calls = self.api_calls(since)
        assert calls, "the page made no API call"
        wrong = [f"{c.method} {c.url} -> {c.backend}" for c in calls if c.backend != backend]
        assert not wrong, f"API calls expected on {backend} only, also went to: {wrong}"
        return calls

    def requests_to(self, predicate: Callable[[Request], bool]) -> list[Request]:
        return [r for r in self.requests if predicate(r)]

    def cognito_requests(self, flow: str | None = None) -> list[Request]:
        """Cognito ``InitiateAuth`` calls the page made (optionally of one ``AuthFlow``)."""
        found = []
        for r in self.requests:
            target = r.headers.get("x-amz-target", "")
            if r.method == "POST" and target.endswith(".InitiateAuth"):
                body = json.loads(r.post_data or "{}")
                if flow is None or body.get("AuthFlow") == flow:
                    found.append(r)
        return found


class ConfigControl:
    """Changes the runtime config the page gets, the way ops change ``/config.json``."""

    def set(self, **changes: Any) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError


class SandboxConfig(ConfigControl):
    """A real change on the server: the sandbox web app's test-only ``/__sandbox/config``."""

    def __init__(self, web_url: str) -> None:
        self.endpoint = web_url.rstrip("/") + "/__sandbox/config"

    def current(self) -> dict[str, Any]:
        response = httpx.get(self.endpoint, timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def set(self, **changes: Any) -> None:
        response = httpx.put(self.endpoint, json=changes, timeout=10)
        assert response.status_code == 200, response.text

    def reset(self) -> None:
        httpx.delete(self.endpoint, timeout=10).raise_for_status()


class RoutedConfig(ConfigControl):
    """For a real deployment: the deployed config with changes, served by Playwright's router
    (the browser sees exactly what it would after ops changed the file)."""

    def __init__(self, context: BrowserContext, web_url: str) -> None:
        self.context = context
        self.web_url = web_url.rstrip("/")
        self.changes: dict[str, Any] = {}
        self._routed = False

    def _serve(self, route: Route) -> None:
        response = route.fetch()
        config = {**response.json(), **self.changes}
        route.fulfill(response=response, json=config)

    def set(self, **changes: Any) -> None:
        self.changes.update(changes)
        if not self._routed:
            self.context.route(self.web_url + "/config.json", self._serve)
            self._routed = True

    def reset(self) -> None:
        self.changes.clear()


@dataclass
class ConfigFailure:
    """``/config.json`` answered with an error (the plan's T5), attempts timed."""

    status: int = 500
    attempts: list[float] = field(default_factory=list)

    def handler(self, route: Route) -> None:
        self.attempts.append(time.monotonic())
        route.fulfill(status=self.status, body="Internal Error", content_type="text/plain")

    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.attempts, self.attempts[1:], strict=False)]


@contextmanager
def failing_config(
    context: BrowserContext, web_url: str, status: int = 500
) -> Iterator[ConfigFailure]:
    failure = ConfigFailure(status)
    pattern = web_url.rstrip("/") + "/config.json"
    context.route(pattern, failure.handler)
    try:
        yield failure
    finally:
        context.unroute(pattern, failure.handler)


def cognito_call(endpoint: str, action: str, body: Mapping[str, Any]) -> httpx.Response:
    """One Cognito Identity Provider JSON API call, unsigned, as a browser makes it."""
    return httpx.post(
        endpoint,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityProviderService.{action}",
        },
        content=json.dumps(body),
        timeout=10,
    )


def screenshot_dir() -> Path | None:
    """``PARITY_E2E_SCREENSHOTS=DIR`` keeps each flow's end state as ``DIR/<name>.png``."""
    raw = os.environ.get("PARITY_E2E_SCREENSHOTS", "").strip()
    if not raw:
        return None
    path = Path(raw)
    return path if path.is_absolute() else ROOT / path
