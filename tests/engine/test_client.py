"""client.py: auth headers per role, transport errors -> readable exceptions, Backends."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import httpx
import pytest

from parity.core.config import AuthSettings, Secret, Settings
from parity.core.errors import (
    BackendDown,
    BackendError,
    BackendTimeout,
    BackendUnreachable,
    ConfigError,
    ResponseTooLarge,
)
from parity.engine.auth import StaticTokenProvider
from parity.engine.client import ATTEMPTS_EXTENSION, BackendClient, Backends, ping


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def echo(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "method": request.method,
            "url": str(request.url),
            "authorization": request.headers.get_list("authorization"),
            "content_type": request.headers.get("content-type"),
        },
    )


def static_auth(backend: str = "express") -> StaticTokenProvider:
    return StaticTokenProvider(
        AuthSettings(backend=backend, mode="static", tokens={"ALICE": Secret("tok-a")})
    )


def test_unreachable_backend_names_backend_url_and_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        BackendClient("express", url, timeout=2) as client,
        pytest.raises(BackendUnreachable) as info,
    ):
        client.request("GET", "/health")
    msg = str(info.value)
    assert msg == (
        f"express backend at {url} is unreachable (connection refused; 2 attempts). "
        "Start it, or pass --express-url / PARITY_EXPRESS_URL."
    )
    assert info.value.backend == "express" and info.value.url == url


def test_ping() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnreachable, match="serverless backend at"):
        ping("serverless", url)
    transport = httpx.MockTransport(lambda r: httpx.Response(404))
    assert ping("serverless", "http://api.test", transport=transport) == 404


def test_roles_get_their_headers_and_explicit_headers_win() -> None:
    client = BackendClient(
        "express", "http://api.test/", static_auth(), transport=httpx.MockTransport(echo)
    )
    as_alice = client.request("GET", "/api/mocs", "alice", params={"page": 1}).json()
    assert as_alice["authorization"] == ["Bearer tok-a"]
    assert as_alice["url"] == "http://api.test/api/mocs?page=1"
    assert client.request("GET", "/x").json()["authorization"] == []
    forged = client.request("GET", "/x", "alice", headers={"authorization": "Bearer junk"})
    assert forged.json()["authorization"] == ["Bearer junk"]  # replaced, not duplicated
    assert client.client_for("alice") is client.client_for("alice")
    assert client.client_for("alice") is not client.client_for("anonymous")
    client.close()


def test_bodies_pass_through() -> None:
    client = BackendClient("express", "http://api.test", transport=httpx.MockTransport(echo))
    assert client.request("POST", "/j", json={"a": 1}).json()["content_type"] == (
        "application/json"
    )
    files = {"file": ("a.png", b"\x89PNG", "image/png")}
    sent = client.request("POST", "/f", files=files, data={"kind": "image"}).json()
    assert sent["content_type"].startswith("multipart/form-data; boundary=")
    raw = client.request("PUT", "https://s3.test/bucket/key?sig=1", content=b"x").json()
    assert raw["url"] == "https://s3.test/bucket/key?sig=1"  # absolute URLs are kept


def test_read_timeout_names_timeout_and_setting() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = BackendClient(
        "serverless", "http://api.test", timeout=1.5, transport=httpx.MockTransport(slow)
    )
    with pytest.raises(BackendTimeout) as info:
        client.request("GET", "/api/mocs")
    msg = str(info.value)
    assert "serverless backend did not answer GET http://api.test/api/mocs within 1.5 s" in msg
    assert "PARITY_TIMEOUT" in msg


def test_dropped_connection_is_a_backend_error() -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    client = BackendClient("serverless", "http://api.test", transport=httpx.MockTransport(drop))
    with pytest.raises(BackendError, match="closed the connection"):
        client.request("POST", "/api/images")


def test_unreachable_presigned_url_names_that_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = BackendClient("express", "http://api.test", transport=httpx.MockTransport(refuse))
    with pytest.raises(BackendUnreachable) as info:
        client.request("PUT", "http://s3.test:4566/bucket/key?X-Amz-Signature=abc")
    assert info.value.url == "http://s3.test:4566"
    assert "X-Amz-Signature" not in str(info.value)


def test_backends_from_settings() -> None:
    settings = Settings.load(
        {"express_url": "http://legacy.test", "serverless_url": "http://api.test"},
        {"PARITY_AUTH_MODE": "static", "PARITY_TOKEN_ALICE": "t"},
        None,
    )
    with Backends.from_settings(settings, transport=httpx.MockTransport(echo)) as backends:
        assert list(backends) == ["express", "serverless"] and len(backends) == 2
        answer = backends["serverless"].request("GET", "/x", "alice").json()
        assert answer["authorization"] == ["Bearer t"]
        with pytest.raises(KeyError, match="not selected"):
            backends["lambda"]


def test_backends_need_urls() -> None:
    settings = Settings.load({"backend": "serverless"}, {}, None)
    with pytest.raises(ConfigError) as info:
        Backends.from_settings(settings)
    assert "no URL for the serverless backend" in str(info.value)
    assert "--serverless-url or PARITY_SERVERLESS_URL" in str(info.value)


# --- failing backends: retries, marked down, size limit, redirect loops (issue 10) -------


class Flaky:
    """A transport that fails the first ``failures`` calls with ``exc``, then echoes."""

    def __init__(self, failures: int, exc: type[httpx.TransportError] = httpx.ConnectError):
        self.failures = failures
        self.exc = exc
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc("[Errno 111] Connection refused", request=request)
        return echo(request)


def test_a_connect_failure_is_retried_once_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/x.py::test_y[serverless] (call)")
    flaky = Flaky(1)
    client = BackendClient("serverless", "http://api.test", transport=httpx.MockTransport(flaky))
    response = client.request("POST", "/api/mocs", json={"a": 1})
    assert response.status_code == 200 and flaky.calls == 2
    assert response.extensions[ATTEMPTS_EXTENSION] == 2
    [retry] = client.retries_of("tests/x.py::test_y[serverless]")
    assert retry.to_dict() == {
        "backend": "serverless",
        "method": "POST",
        "path": "/api/mocs",
        "attempts": 2,
        "reasons": ["connection refused"],
        "outcome": "answered",
    }
    assert client.retries_of("tests/x.py::other") == []


def test_without_retries_the_first_failure_is_the_answer() -> None:
    flaky = Flaky(1)
    client = BackendClient(
        "serverless", "http://api.test", transport=httpx.MockTransport(flaky), retries=0
    )
    with pytest.raises(BackendUnreachable, match=r"\(connection refused\)"):
        client.request("GET", "/x")
    assert flaky.calls == 1 and client.retry_log == []


def test_failing_every_time_is_still_an_error_and_the_retry_is_logged() -> None:
    flaky = Flaky(99)
    client = BackendClient(
        "serverless", "http://api.test", transport=httpx.MockTransport(flaky), retries=2
    )
    with pytest.raises(BackendUnreachable, match=r"connection refused; 3 attempts"):
        client.request("GET", "/x")
    assert flaky.calls == 3
    assert [(r.attempts, r.outcome) for r in client.retry_log] == [(3, "failed")]


def test_a_dropped_connection_is_retried_for_get_never_for_post() -> None:
    get = Flaky(1, httpx.RemoteProtocolError)
    client = BackendClient("serverless", "http://api.test", transport=httpx.MockTransport(get))
    assert client.request("GET", "/x").status_code == 200 and get.calls == 2
    post = Flaky(1, httpx.RemoteProtocolError)
    client = BackendClient("serverless", "http://api.test", transport=httpx.MockTransport(post))
    with pytest.raises(BackendError, match="closed the connection"):
        client.request("POST", "/x")
    assert post.calls == 1 and client.retry_log == []


def test_marked_down_after_failures_in_a_row_then_fails_without_sending() -> None:
    flaky = Flaky(99)
    client = BackendClient(
        "serverless",
        "http://api.test",
        transport=httpx.MockTransport(flaky),
        retries=0,
        down_after=2,
    )
    for _ in range(2):
        with pytest.raises(BackendUnreachable):
            client.request("GET", "/x")
    assert (
        client.down
        == "marked down after 2 requests in a row failed (last: GET /x: connection refused)"
    )
    with pytest.raises(BackendDown) as info:
        client.request("GET", "/y")
    assert flaky.calls == 2  # not sent
    assert "marked down after 2 requests" in str(info.value)
    assert "--serverless-url / PARITY_SERVERLESS_URL" in str(info.value)


def test_an_answer_in_between_resets_the_count() -> None:
    outcomes = iter([True, False, True, False, True])

    def sometimes(request: httpx.Request) -> httpx.Response:
        if next(outcomes):
            raise httpx.ConnectError("Connection refused", request=request)
        return echo(request)

    client = BackendClient(
        "serverless",
        "http://api.test",
        transport=httpx.MockTransport(sometimes),
        retries=0,
        down_after=2,
    )
    for _ in range(5):
        with contextlib.suppress(BackendUnreachable):
            client.request("GET", "/x")
    assert client.down is None


def test_a_response_over_the_limit_is_not_read_past_it() -> None:
    chunks_read = 0

    def body() -> Iterator[bytes]:
        nonlocal chunks_read
        for _ in range(50):  # 50 MiB if read to the end
            chunks_read += 1
            yield b"x" * (1024 * 1024)

    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body(), headers={"content-type": "application/json"})

    client = BackendClient(
        "serverless", "http://api.test", transport=httpx.MockTransport(huge), max_response_mb=2
    )
    with pytest.raises(ResponseTooLarge) as info:
        client.request("GET", "/api/mocs")
    assert chunks_read == 3  # stopped at the first chunk past 2 MiB
    assert "serverless backend answered GET /api/mocs with a response larger than 2 MB" in str(
        info.value
    )
    assert "PARITY_MAX_RESPONSE_MB" in str(info.value)


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    def declared(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{}", headers={"content-length": str(30 * 1024**2)})

    client = BackendClient("serverless", "http://api.test", transport=httpx.MockTransport(declared))
    with pytest.raises(ResponseTooLarge, match="larger than 20 MB"):
        client.request("GET", "/x")
    small = BackendClient("serverless", "http://api.test", transport=httpx.MockTransport(echo))
    assert small.request("GET", "/x").json()["method"] == "GET"


def test_redirect_loops_are_found_without_following_for_the_checks() -> None:
    hops = {"/a": "/b", "/b": "/a", "/self": "/self", "/out": "/done"}

    def redirects(request: httpx.Request) -> httpx.Response:
        target = hops.get(request.url.path)
        return httpx.Response(302, headers={"location": target}) if target else echo(request)

    client = BackendClient("express", "http://api.test", transport=httpx.MockTransport(redirects))
    first = client.request("GET", "/a")
    assert first.status_code == 302  # returned as is
    assert client.redirect_loop(first) == [
        "http://api.test/a",
        "http://api.test/b",
        "http://api.test/a",
    ]
    assert client.redirect_loop(client.request("POST", "/self")) == [
        "http://api.test/self",
        "http://api.test/self",
    ]
    assert client.redirect_loop(client.request("GET", "/out")) is None
    assert client.redirect_loop(client.request("GET", "/done")) is None


def test_a_long_redirect_chain_that_ends_is_no_loop() -> None:
    # httpbin's /redirect/11: eleven same-origin hops, then an answer.
    def chain(request: httpx.Request) -> httpx.Response:
        n = int(request.url.path.rsplit("/", 1)[-1]) if request.url.path != "/get" else 0
        if n:
            return httpx.Response(
                302, headers={"location": f"/relative-redirect/{n - 1}" if n > 1 else "/get"}
            )
        return echo(request)

    client = BackendClient("express", "http://api.test", transport=httpx.MockTransport(chain))
    assert client.redirect_loop(client.request("GET", "/redirect/11")) is None
    endless = client.request("GET", "/redirect/30")  # more hops than any client follows
    assert client.redirect_loop(endless) is not None


def test_ping_does_not_read_the_body() -> None:
    def huge(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            raise AssertionError("ping read the body")
            yield b""

        return httpx.Response(200, content=body())

    assert ping("serverless", "http://api.test", transport=httpx.MockTransport(huge)) == 200
