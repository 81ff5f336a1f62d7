"""The local API Gateway: what it answers itself, in its own shape, and the event it builds.

The first half runs over real sockets against the session sandbox (the AWS facts the
suite must be able to reveal); the second half drives the gateway in-process with fake
handlers for the paths a real backend cannot be made to take on demand.
"""

from __future__ import annotations

import base64
import json
import time
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from sandbox.drift import Drifts
from sandbox.gateway import LAMBDA_EVENT_LIMIT, create_gateway_app, is_binary
from sandbox.lambdas import make_handler
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

GATEWAY_413 = {"message": "Request Entity Too Large"}


def _gateway_shaped(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"message": message}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["apigw-requestid"]


# -- over real sockets ---------------------------------------------------------------------


def test_11mb_upload_is_refused_by_the_gateway(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client, alice_moc: str
) -> None:
    response = http.post(
        f"{sandbox.serverless_url}/api/mocs/{alice_moc}/files",
        headers=bearer(tokens["alice"]),
        **upload(11 * MB),
    )
    _gateway_shaped(response, 413, "Request Entity Too Large")


def test_5mb_binary_upload_breaks_the_lambda_event_limit(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client, alice_moc: str
) -> None:
    # 5 MB is under the 10 MB payload quota, but base64 makes it ~6.7 MB of event.
    response = http.post(
        f"{sandbox.serverless_url}/api/mocs/{alice_moc}/files",
        headers=bearer(tokens["alice"]),
        **upload(5 * MB),
    )
    _gateway_shaped(response, 413, "Request Entity Too Large")


def test_4mb_upload_fits_through_the_gateway(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client, alice_moc: str
) -> None:
    response = http.post(
        f"{sandbox.serverless_url}/api/mocs/{alice_moc}/files",
        headers=bearer(tokens["alice"]),
        **upload(4 * MB),
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"]["size"] == 4 * MB


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer a.b.c", "Basic dXNlcjpwYXNz", ""])
def test_bad_or_missing_token_is_the_authorizers_401(
    sandbox: SandboxRunner, http: httpx.Client, header: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = http.post(f"{sandbox.serverless_url}/api/mocs", headers=headers, json={})
    _gateway_shaped(response, 401, "Unauthorized")


def test_authorizer_accepts_the_bare_token_too(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client
) -> None:
    response = http.get(
        f"{sandbox.serverless_url}/api/users/me", headers={"Authorization": tokens["alice"]}
    )
    assert response.status_code == 200, response.text


def test_other_users_moc_is_403_from_the_lambda(
    sandbox: SandboxRunner, tokens: dict[str, str], http: httpx.Client, alice_moc: str
) -> None:
    response = http.patch(
        f"{sandbox.serverless_url}/api/mocs/{alice_moc}",
        headers=bearer(tokens["bob"]),
        json={"title": "mine now"},
    )
    assert response.status_code == 403
    body = response.json()
    assert body["status"] == "error" and body["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nothing-here"),
        ("PUT", "/api/mocs"),
        ("GET", "/debug/routes"),
        ("HEAD", "/health"),
    ],
)
def test_no_route_is_the_gateways_404(
    sandbox: SandboxRunner, http: httpx.Client, method: str, path: str
) -> None:
    response = http.request(method, f"{sandbox.serverless_url}{path}")
    assert response.status_code == 404
    if method != "HEAD":
        _gateway_shaped(response, 404, "Not Found")


def test_preflight_from_an_allowed_origin(sandbox: SandboxRunner, http: httpx.Client) -> None:
    response = http.options(
        f"{sandbox.serverless_url}/api/mocs",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET,POST,PATCH,DELETE,OPTIONS"
    # API Gateway's own spelling: lower case (Express keeps the configured case).
    allow_headers = response.headers["access-control-allow-headers"]
    assert allow_headers == "authorization,content-type,x-debug-fault"
    assert response.headers["access-control-max-age"] == "600"


def test_preflight_from_another_origin_gets_no_cors_headers(
    sandbox: SandboxRunner, http: httpx.Client
) -> None:
    response = http.options(
        f"{sandbox.serverless_url}/api/mocs",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert not [h for h in response.headers if h.startswith("access-control-")]


def test_actual_responses_carry_cors_for_allowed_origins_only(
    sandbox: SandboxRunner, http: httpx.Client
) -> None:
    allowed = http.get(f"{sandbox.serverless_url}/api/mocs", headers={"Origin": ALLOWED_ORIGIN})
    other = http.get(f"{sandbox.serverless_url}/api/mocs", headers={"Origin": OTHER_ORIGIN})
    assert allowed.status_code == other.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-origin" not in other.headers
    # Gateway-originated errors are CORS-decorated as well.
    missing = http.get(f"{sandbox.serverless_url}/nope", headers={"Origin": ALLOWED_ORIGIN})
    assert missing.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_lambda_responses_are_plain_json(sandbox: SandboxRunner, http: httpx.Client) -> None:
    response = http.get(f"{sandbox.serverless_url}/api/mocs")
    assert response.headers["content-type"] == "application/json"
    assert "x-powered-by" not in response.headers and "etag" not in response.headers
    assert response.json()["status"] == "success"


# -- drifts through the real application core ----------------------------------------------


def _drifted_client(
    sandbox: SandboxRunner, names: list[str]
) -> AbstractContextManager[httpx.Client]:
    from sandbox.core.service import Application

    assert sandbox.infra is not None
    drifts = Drifts(names)
    handler = make_handler(Application("serverless", sandbox.infra, sandbox.settings), drifts)
    return served(create_gateway_app(handler, sandbox.infra.verifier, sandbox.settings, drifts))


def test_drift_missing_endpoint_removes_stats_from_the_gateway(sandbox: SandboxRunner) -> None:
    with _drifted_client(sandbox, ["missing-endpoint"]) as client:
        response = client.get("/api/mocs/stats")
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}
        assert client.get("/api/mocs").status_code == 200  # the rest is untouched
    assert httpx.get(f"{sandbox.serverless_url}/api/mocs/stats").status_code == 200


def test_drift_status_code_answers_200_for_create(
    sandbox: SandboxRunner, tokens: dict[str, str]
) -> None:
    body = {"title": "Drifted", "theme": "Space", "pieceCount": 7}
    with _drifted_client(sandbox, ["status-code"]) as client:
        response = client.post("/api/mocs", headers=bearer(tokens["alice"]), json=body)
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "MOC created"
        bad = client.post("/api/mocs", headers=bearer(tokens["alice"]), json={})
        assert bad.status_code == 400  # only the success status drifts


def test_debug_fault_timeout_is_the_gateways_504(sandbox: SandboxRunner) -> None:
    from sandbox.core.service import Application

    assert sandbox.infra is not None
    settings = replace(sandbox.settings, gateway_timeout_s=0.5, fault_timeout_s=1.5)
    handler = make_handler(Application("serverless", sandbox.infra, settings))
    with served(create_gateway_app(handler, sandbox.infra.verifier, settings)) as client:
        response = client.get("/api/mocs", headers={"X-Debug-Fault": "timeout"})
    assert response.status_code == 504
    assert response.json() == {"message": "Service Unavailable"}


# -- in-process, with fake handlers ---------------------------------------------------------


def _client(handler: Any, **settings: Any) -> AbstractContextManager[httpx.Client]:
    return served(
        create_gateway_app(handler, FakeVerifier(), SandboxSettings(**settings), Drifts())
    )


def _capture() -> tuple[list[dict[str, Any]], Any]:
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"statusCode": 200, "headers": {}, "body": "{}", "isBase64Encoded": False}

    return events, handler


def test_event_is_payload_format_2() -> None:
    events, handler = _capture()
    moc = "0b7e3a6e-1111-4a4a-8a8a-123456789abc"
    with _client(handler) as client:
        client.patch(
            f"/api/mocs/{moc}?a=1&a=2&b=",
            headers=[
                ("Authorization", "Bearer good"),
                ("X-Multi", "x"),
                ("X-Multi", "y"),
                ("Cookie", "s=1; t=2"),
            ],
            json={"title": "x"},
        )
    (event,) = events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "PATCH /api/mocs/{mocId}"
    assert event["rawPath"] == f"/api/mocs/{moc}"
    assert event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["pathParameters"] == {"mocId": moc}
    assert event["headers"]["x-multi"] == "x,y"
    assert event["cookies"] == ["s=1", "t=2"] and "cookie" not in event["headers"]
    assert event["isBase64Encoded"] is False and json.loads(event["body"]) == {"title": "x"}
    ctx = event["requestContext"]
    assert ctx["stage"] == "$default" and ctx["routeKey"] == event["routeKey"]
    assert ctx["http"]["method"] == "PATCH" and ctx["http"]["path"] == event["rawPath"]
    assert isinstance(ctx["timeEpoch"], int) and ctx["requestId"]
    # The JWT authorizer hands claims over as strings, lists flattened to "[a b]".
    assert ctx["authorizer"]["jwt"]["claims"] == {
        "sub": "u-1",
        "cognito:username": "alice",
        "cognito:groups": "[admin]",
        "exp": "1",
    }


def test_public_route_event_has_no_authorizer_and_ignores_the_header() -> None:
    events, handler = _capture()
    with _client(handler) as client:
        assert client.get("/api/mocs", headers={"Authorization": "Bearer junk"}).status_code == 200
    assert "authorizer" not in events[0]["requestContext"]
    assert "queryStringParameters" not in events[0] and "body" not in events[0]


def test_binary_bodies_are_base64_encoded() -> None:
    events, handler = _capture()
    with _client(handler) as client:
        client.post("/api/images", headers=bearer("good"), files={"file": ("a.png", b"\x89PNG")})
    (event,) = events
    assert event["isBase64Encoded"] is True
    assert b"\x89PNG" in base64.b64decode(event["body"])
    assert is_binary("multipart/form-data; boundary=x") and is_binary("image/png")
    assert is_binary(None) and is_binary("application/x-www-form-urlencoded")
    assert not is_binary("application/json") and not is_binary("text/plain; charset=utf-8")
    assert not is_binary("application/problem+json")


def test_event_limit_counts_the_whole_event() -> None:
    _, handler = _capture()
    json_type = {**bearer("good"), "content-type": "application/json"}
    binary_type = {**bearer("good"), "content-type": "application/octet-stream"}
    with _client(handler) as client:
        # Text passes as is: a JSON body a little under 6 MB fits...
        text = b'"' + b"x" * (LAMBDA_EVENT_LIMIT - 8192) + b'"'
        assert client.post("/api/albums", headers=json_type, content=text).status_code == 200
        # ...while binary grows by 4/3: 4.4 MB fits, 4.8 MB does not.
        small, large = b"\0" * (44 * MB // 10), b"\0" * (48 * MB // 10)
        assert client.post("/api/albums", headers=binary_type, content=small).status_code == 200
        big = client.post("/api/albums", headers=binary_type, content=large)
        assert big.status_code == 413 and big.json() == GATEWAY_413


def test_streamed_body_over_the_payload_limit_is_413() -> None:
    events, handler = _capture()

    def chunks() -> Any:
        for _ in range(11):
            yield b"x" * MB

    with _client(handler) as client:
        response = client.post("/api/albums", headers=bearer("good"), content=chunks())
    assert response.status_code == 413 and response.json() == GATEWAY_413
    assert not events  # the integration never ran


def test_integration_timeout_is_504() -> None:
    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(1.0)
        return {"statusCode": 200, "body": "{}"}

    with _client(slow, gateway_timeout_s=0.2) as client:
        started = time.monotonic()
        response = client.get("/api/mocs")
    assert time.monotonic() - started < 0.9
    assert response.status_code == 504 and response.json() == {"message": "Service Unavailable"}


@pytest.mark.parametrize(
    "result",
    [
        RuntimeError("boom"),
        {"statusCode": "200", "body": "{}"},
        {"statusCode": 200, "body": "x" * (6 * MB + 1)},
    ],
    ids=["crash", "malformed", "oversized"],
)
def test_lambda_failures_are_500(result: Any) -> None:
    def handler(event: dict[str, Any], context: Any) -> Any:
        if isinstance(result, Exception):
            raise result
        return result

    with _client(handler) as client:
        response = client.get("/api/mocs")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_lambda_cors_headers_are_replaced_by_the_configuration() -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {
            "statusCode": 200,
            "headers": {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"},
            "body": "{}",
        }

    with _client(handler) as client:
        response = client.get("/api/mocs", headers={"Origin": OTHER_ORIGIN})
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["cache-control"] == "no-store"


def test_error_rate_and_latency_knobs() -> None:
    with _client(make_handler(FakeApp()), error_rate=1.0) as client:
        response = client.get("/api/mocs")
        assert response.status_code == 500
        assert response.json() == {"message": "Internal Server Error"}
        assert client.get("/health").status_code == 200  # only /api/* is affected
    with _client(make_handler(FakeApp()), latency_ms=200) as client:
        started = time.monotonic()
        assert client.get("/api/mocs").status_code == 200
        assert time.monotonic() - started >= 0.2


def test_the_fault_tally_counts_exactly_the_injected_errors() -> None:
    settings = SandboxSettings(error_rate=0.5)
    app = create_gateway_app(make_handler(FakeApp()), FakeVerifier(), settings, Drifts())
    with served(app) as client:
        statuses = [client.get("/api/mocs").status_code for _ in range(40)]
        client.get("/health")  # not /api/*: neither counted nor failed
    tally = app.state.faults
    assert (tally.requests, tally.injected_errors) == (40, statuses.count(500))
    assert set(statuses) <= {200, 500}
    assert f"{statuses.count(500)} injected 500s in 40 /api requests" in tally.summary(settings)


# -- the Lambda handler on hand-made events --------------------------------------------------


def _event(route_key: str, **extra: Any) -> dict[str, Any]:
    method, path = route_key.split(" ", 1)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "headers": {},
        "requestContext": {"http": {"method": method, "path": path}, "requestId": "r-1"},
        "isBase64Encoded": False,
    }
    event.update(extra)
    return event


def test_handler_parses_a_base64_multipart_body() -> None:
    request = httpx.Request("POST", "http://x/", files={"file": ("a.bin", b"\0" * 10)})
    body = request.read()
    app = FakeApp()
    result = make_handler(app)(
        _event(
            "POST /api/images",
            headers={"content-type": request.headers["content-type"]},
            body=base64.b64encode(body).decode(),
            isBase64Encoded=True,
            requestContext={
                "http": {"method": "POST"},
                "authorizer": {"jwt": {"claims": {"sub": "s", "cognito:groups": "[a b]"}}},
            },
        ),
        None,
    )
    assert result["statusCode"] == 201 and result["isBase64Encoded"] is False
    assert result["headers"]["content-type"] == "application/json"
    data = json.loads(result["body"])["data"]
    assert data["files"] == {"file": 10} and data["groups"] == ["a", "b"]


def test_handler_answers_malformed_json_and_unknown_routes_in_the_envelope() -> None:
    handler = make_handler(FakeApp())
    bad = handler(
        _event("POST /api/mocs", headers={"content-type": "application/json"}, body="{x"), None
    )
    assert bad["statusCode"] == 400
    assert json.loads(bad["body"])["error"]["code"] == "VALIDATION_ERROR"
    unknown = handler(_event("GET /nowhere"), None)
    assert unknown["statusCode"] == 404
    assert json.loads(unknown["body"])["message"] == "Route not found"


def test_handler_applies_response_drifts() -> None:
    event = _event("POST /api/mocs", headers={"content-type": "application/json"}, body="{}")
    assert make_handler(FakeApp())(event, None)["statusCode"] == 201
    drifted = make_handler(FakeApp(), Drifts(["status-code"]))
    assert drifted(event, None)["statusCode"] == 200


def test_unknown_drift_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="missing-endpoint"):
        Drifts(["renamed-everything"])
