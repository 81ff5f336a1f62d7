"""client.py: auth headers per role, transport errors -> readable exceptions, Backends."""

from __future__ import annotations

import socket

import httpx
import pytest

from parity.auth import StaticTokenProvider
from parity.client import BackendClient, Backends, ping
from parity.config import AuthSettings, Secret, Settings
from parity.errors import BackendError, BackendTimeout, BackendUnreachable, ConfigError


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
