"""The Express flavour over real sockets: multer's limit, the envelope on every error,
cors(), and what ``res.json`` adds (X-Powered-By, ETag, conditional GET)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.express import create_express_app, express_etag
from sandbox.launcher import SandboxRunner
from sandbox.settings import SandboxSettings

from .conftest import (
    ALLOWED_ORIGIN,
    MB,
    OTHER_ORIGIN,
    FakeApp,
    FakeVerifier,
    bearer,
    served,
    upload,
)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def _envelope_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = response.json()
    assert body["status"] == "error" and body["data"] is None
    assert body["error"]["code"] == code
    return body


def test_express_accepts_an_11mb_upload(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client, alice_moc: str
) -> None:
    response = http.post(
        f"{sandbox.express_url}/api/mocs/{alice_moc}/files",
        headers=bearer(tokens["alice"]),
        **upload(11 * MB),
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["size"] == 11 * MB


def test_express_refuses_past_its_50mb_limit(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client, alice_moc: str
) -> None:
    response = http.post(
        f"{sandbox.express_url}/api/mocs/{alice_moc}/files",
        headers=bearer(tokens["alice"]),
        **upload(50 * MB + 1),
    )
    body = _envelope_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["message"] == "File too large"


@pytest.fixture
def small_limit() -> Iterator[httpx.Client]:
    settings = SandboxSettings(express_upload_limit=MB)
    with served(create_express_app(FakeApp(), FakeVerifier(), settings)) as client:
        yield client


def test_limit_is_enforced_while_streaming_too(small_limit: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for _ in range(3):
            yield b"x" * (MB // 2)

    response = small_limit.post(
        "/api/images",
        headers={**bearer("good"), "content-type": "multipart/form-data; boundary=b"},
        content=chunks(),
    )
    _envelope_error(response, 413, "PAYLOAD_TOO_LARGE")
    ok = small_limit.post("/api/images", headers=bearer("good"), **upload(MB // 2))
    assert ok.status_code == 201 and ok.json()["data"]["files"] == {"file": MB // 2}
    assert ok.json()["data"]["form"] == {"kind": "instructions"}


def test_auth_runs_before_multer(small_limit: httpx.Client) -> None:
    response = small_limit.post("/api/images", **upload(2 * MB))
    _envelope_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["missing", "garbage", "forged", "basic"],
)
def test_bad_or_missing_token_is_the_envelope_401(
    sandbox: SandboxRunner, http: httpx.Client, headers: dict[str, str]
) -> None:
    response = http.post(f"{sandbox.express_url}/api/mocs", headers=headers, json={})
    body = _envelope_error(response, 401, "UNAUTHORIZED")
    assert body["message"] == "Unauthorized"


def test_express_insists_on_the_bearer_scheme(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client
) -> None:
    # The gateway's authorizer takes a bare token; the Express middleware does not.
    bare = http.get(f"{sandbox.express_url}/api/users/me", headers={"Authorization": tokens["bob"]})
    _envelope_error(bare, 401, "UNAUTHORIZED")
    ok = http.get(f"{sandbox.express_url}/api/users/me", headers=bearer(tokens["bob"]))
    assert ok.status_code == 200 and ok.json()["data"]["username"] == "bob"


def test_public_routes_ignore_the_header(sandbox: SandboxRunner, http: httpx.Client) -> None:
    response = http.get(f"{sandbox.express_url}/api/mocs", headers=bearer("junk"))
    assert response.status_code == 200


def test_other_users_moc_is_403(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client, alice_moc: str
) -> None:
    response = http.patch(
        f"{sandbox.express_url}/api/mocs/{alice_moc}",
        headers=bearer(tokens["bob"]),
        json={"title": "mine now"},
    )
    _envelope_error(response, 403, "FORBIDDEN")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/nothing-here"), ("PUT", "/api/mocs"), ("GET", "/")]
)
def test_no_route_is_the_envelope_404(
    sandbox: SandboxRunner, http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(method, f"{sandbox.express_url}{path}")
    body = _envelope_error(response, 404, "NOT_FOUND")
    assert body["message"] == "Route not found"


def test_malformed_json_is_400_even_before_routing(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client
) -> None:
    headers = {**bearer(tokens["alice"]), "content-type": "application/json"}
    for path in ("/api/mocs", "/api/nothing-here"):  # express.json() is global
        response = http.post(f"{sandbox.express_url}{path}", headers=headers, content=b"{oops")
        body = _envelope_error(response, 400, "VALIDATION_ERROR")
        assert body["message"] == "Invalid JSON body"


def test_preflight_from_an_allowed_origin(sandbox: SandboxRunner, http: httpx.Client) -> None:
    response = http.options(
        f"{sandbox.express_url}/api/mocs",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET,POST,PATCH,DELETE,OPTIONS"
    assert (
        response.headers["access-control-allow-headers"]
        == "Authorization,Content-Type,X-Debug-Fault"
    )
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"
    assert response.content == b""


def test_preflight_from_another_origin_lacks_allow_origin(
    sandbox: SandboxRunner, http: httpx.Client
) -> None:
    response = http.options(
        f"{sandbox.express_url}/api/mocs",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    # cors() still answers 204 with its method/header lists; the browser blocks on the
    # missing Access-Control-Allow-Origin.
    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers


def test_actual_responses_carry_cors_for_allowed_origins_only(
    sandbox: SandboxRunner, http: httpx.Client
) -> None:
    allowed = http.get(f"{sandbox.express_url}/api/mocs", headers={"Origin": ALLOWED_ORIGIN})
    other = http.get(f"{sandbox.express_url}/api/mocs", headers={"Origin": OTHER_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-origin" not in other.headers
    assert allowed.headers["vary"] == other.headers["vary"] == "Origin"


def test_express_headers_and_conditional_get(sandbox: SandboxRunner, http: httpx.Client) -> None:
    response = http.get(f"{sandbox.express_url}/api/mocs")
    assert response.status_code == 200
    assert response.headers["x-powered-by"] == "Express"
    assert _UUID.match(response.headers["x-request-id"])
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["etag"] == express_etag(response.content)
    assert "server" not in response.headers
    again = http.get(
        f"{sandbox.express_url}/api/mocs", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


def test_head_is_served_by_the_get_route(sandbox: SandboxRunner, http: httpx.Client) -> None:
    response = http.head(f"{sandbox.express_url}/health")
    assert response.status_code == 200 and response.content == b""


def test_debug_routes_lists_the_inventory(sandbox: SandboxRunner, http: httpx.Client) -> None:
    response = http.get(f"{sandbox.express_url}/debug/routes")
    assert response.status_code == 200
    routes = response.json()["data"]["routes"]
    assert {"method": "GET", "path": "/api/mocs/:mocId"} in routes


def test_debug_fault_reaches_the_core_on_both_flavours(
    sandbox: SandboxRunner, http: httpx.Client
) -> None:
    for base in (sandbox.express_url, sandbox.serverless_url):
        response = http.get(f"{base}/api/mocs", headers={"X-Debug-Fault": "500"})
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "INTERNAL"  # application-side, enveloped


def test_express_etag_matches_the_etag_package() -> None:
    # etag("hello world") in Node: W/"b-Kq5sNclPz7QV2+lfQIuc6R7oRu0"
    assert express_etag(b"hello world") == 'W/"b-Kq5sNclPz7QV2+lfQIuc6R7oRu0"'
