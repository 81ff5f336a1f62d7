"""A local API Gateway v2 HTTP API in front of the serverless flavour's Lambda handler.

It does what the real gateway does before and after the integration, and answers in the
gateway's own shape (``{"message": ...}``, never the application envelope):

- CORS configuration: answers preflight ``OPTIONS`` itself, adds the CORS headers to
  actual responses and drops any the Lambda set (API Gateway ignores them);
- route table: ``routes_for("serverless")`` minus drifted routes -> ``404 Not Found``;
- payload limit 10,485,760 bytes -> ``413`` before the integration runs;
- JWT authorizer on ``user`` routes -> ``401 Unauthorized``, claims into the event;
- payload format 2.0 event, binary bodies base64-encoded; event over the 6 MB Lambda
  invocation limit -> ``413``;
- integration timeout -> ``504 Service Unavailable``; crash, malformed or oversized
  Lambda response -> ``500 Internal Server Error``.

The ``PARITY_SANDBOX_LATENCY`` / ``PARITY_SANDBOX_ERROR_RATE`` knobs act here, on ``/api/*``
requests that passed routing and the authorizer; :class:`FaultTally` (``app.state.faults``)
counts what they did, so a load test can check that its errors are exactly the injected ones.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import Receive, Scope, Send

from sandbox.auth import Verifier, verify_header
from sandbox.bodies import content_type_of
from sandbox.core.routes import (
    ROUTES,
    Route,
    decode_params,
    match_route,
    routed_path,
    routes_for,
)
from sandbox.cors import ALLOWED_HEADERS, ALLOWED_METHODS, MAX_AGE_S, CorsPolicy
from sandbox.drift import Drifts
from sandbox.lambdas import LambdaContext, LambdaHandler, to_lambda_result
from sandbox.settings import SandboxSettings

__all__ = [
    "LAMBDA_EVENT_LIMIT",
    "LAMBDA_RESPONSE_LIMIT",
    "PAYLOAD_LIMIT",
    "FaultTally",
    "build_event",
    "create_gateway_app",
    "is_binary",
]

PAYLOAD_LIMIT = 10 * 1024 * 1024  # HTTP API request payload quota
LAMBDA_EVENT_LIMIT = 6 * 1024 * 1024  # synchronous invocation payload quota
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024

log = logging.getLogger("sandbox.gateway")

_TEXT_TYPES = {"application/json", "application/javascript", "application/xml"}


def is_binary(content_type: str | None) -> bool:
    """Whether API Gateway base64-encodes a body of this type into the event.

    Only text types pass as text; multipart/form-data, form-urlencoded, octet-stream,
    images and a body without a content type are all base64-encoded.
    """
    media = content_type_of(content_type)
    if media.startswith("text/") or media in _TEXT_TYPES:
        return False
    return not (media.endswith("+json") or media.endswith("+xml"))


def _gateway_error(status: int, message: str) -> Response:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return Response(body, status, headers={"content-type": "application/json"})


def _request_id() -> str:
    # Real ids look like "Tn7Y0jR5IAMEVTg=": 10 random bytes, base64.
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")


def _flatten_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as the JWT authorizer passes them: every value a string, lists as ``[a b]``."""
    flat: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list | tuple):
            flat[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = str(value)
    return flat


def build_event(
    request: Request,
    route: Route,
    path_params: dict[str, str],
    body: bytes,
    request_id: str,
    claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway would send for ``request``."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for raw_name, raw_value in request.headers.raw:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    client = request.client.host if request.client else "127.0.0.1"
    port = request.url.port or 80
    headers.setdefault("x-forwarded-for", client)
    headers.setdefault("x-forwarded-port", str(port))
    headers.setdefault("x-forwarded-proto", request.url.scheme)
    headers["x-amzn-trace-id"] = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    raw_query = request.scope.get("query_string", b"").decode("latin-1")
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
    now = time.time()
    host = headers.get("host", "localhost")
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "sandbox",
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": f"HTTP/{request.scope.get('http_version', '1.1')}",
            "sourceIp": client,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": _flatten_claims(claims), "scopes": None}}
    # Payload 2.0 omits empty optional keys rather than sending null.
    event: dict[str, Any] = {"version": "2.0", "routeKey": route.key, "rawPath": raw_path}
    event["rawQueryString"] = raw_query
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    event["requestContext"] = context
    binary = bool(body) and is_binary(headers.get("content-type"))
    if body:
        event["body"] = (
            base64.b64encode(body).decode("ascii") if binary else body.decode("utf-8", "replace")
        )
    event["isBase64Encoded"] = binary
    return event


@dataclass
class FaultTally:
    """``/api/*`` requests the knobs saw and how many got the injected 500.

    Only touched from the gateway's event loop, so plain ints are safe."""

    requests: int = 0
    injected_errors: int = 0

    def summary(self, settings: SandboxSettings) -> str:
        return (
            f"serverless gateway knobs (latency {settings.latency_ms} ms, error rate "
            f"{settings.error_rate:g}): {self.injected_errors} injected 500s in "
            f"{self.requests} /api requests"
        )


class _Gateway:
    """The ASGI endpoint behind the catch-all route."""

    def __init__(
        self,
        handler: LambdaHandler,
        verifier: Verifier,
        settings: SandboxSettings,
        drifts: Drifts,
        cors: CorsPolicy,
    ) -> None:
        self.handler = handler
        self.verifier = verifier
        self.settings = settings
        self.all_routes = routes_for("serverless", ROUTES)
        self.routes = frozenset(drifts.filter_routes(self.all_routes))
        self.cors = cors
        self.drifts = drifts
        self.payload_limit, self.event_limit = drifts.gateway_limits(
            PAYLOAD_LIMIT, LAMBDA_EVENT_LIMIT
        )
        # Its own pool, so integrations abandoned on timeout cannot starve other requests.
        self.limiter = anyio.CapacityLimiter(64)
        self.faults = FaultTally()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = _request_id()
        origin = request.headers.get("origin")
        if request.method == "OPTIONS" and origin is not None:
            response = self._preflight(origin)
        else:
            try:
                response = await self._serve(request, request_id)
            except Exception:  # a bug in the gateway itself: still answer in its shape
                log.exception("gateway failure")
                response = _gateway_error(500, "Internal Server Error")
            # Configured CORS wins over whatever the integration sent.
            for name in [n for n in response.headers if n.startswith("access-control-")]:
                del response.headers[name]
            if self.cors.allows(origin):
                response.headers["access-control-allow-origin"] = origin or ""
                response.headers["vary"] = "origin"
        response.headers["apigw-requestid"] = request_id
        await response(scope, receive, send)

    def _preflight(self, origin: str) -> Response:
        response = Response(status_code=204)
        if self.cors.allows(origin):
            # API Gateway lower-cases the configured header names; methods stay as given.
            headers = {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": ",".join(ALLOWED_METHODS),
                "access-control-allow-headers": ",".join(h.lower() for h in ALLOWED_HEADERS),
                "access-control-max-age": str(MAX_AGE_S),
                "vary": "origin",
            }
            for name, value in self.drifts.preflight_headers(headers).items():
                response.headers[name] = value
        return response

    async def _serve(self, request: Request, request_id: str) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.payload_limit:
            return _gateway_error(413, "Request Entity Too Large")  # body never read
        # Matched against the full table so a request for a drifted-away endpoint gets the
        # 404 of a missing route instead of falling through to a greedy "{id}" template.
        raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        routed = routed_path(raw_path)
        route, path_params, known = match_route(request.method, routed, self.all_routes)
        path_params = decode_params(path_params)
        if route is None or route not in self.routes:
            instead = self.drifts.unrouted(request.method, routed, known)
            if instead is not None:  # a drift's proxy route to a framework answers
                return _to_http(to_lambda_result(instead))
            return _gateway_error(404, "Not Found")
        claims: dict[str, Any] | None = None
        if route.auth == "user":
            claims = await verify_header(
                self.verifier, request.headers.get("authorization"), bare_allowed=True
            )
            if claims is None:
                return _gateway_error(401, "Unauthorized")
        body = await _read_limited(request, self.payload_limit)
        if body is None:  # chunked upload that grew past the quota
            return _gateway_error(413, "Request Entity Too Large")
        event = build_event(request, route, path_params, body, request_id, claims)
        if len(json.dumps(event, separators=(",", ":")).encode()) > self.event_limit:
            return _gateway_error(413, "Request Entity Too Large")
        if request.url.path.startswith("/api/"):
            self.faults.requests += 1
            if self.settings.latency_ms:
                await anyio.sleep(self.settings.latency_ms / 1000)
            if self.settings.error_rate and random.random() < self.settings.error_rate:
                self.faults.injected_errors += 1
                return _gateway_error(500, "Internal Server Error")
        return await self._invoke(event)

    async def _invoke(self, event: dict[str, Any]) -> Response:
        timeout = self.settings.gateway_timeout_s
        context = LambdaContext(timeout_s=timeout)
        try:
            with anyio.fail_after(timeout):
                result = await anyio.to_thread.run_sync(
                    self.handler, event, context, abandon_on_cancel=True, limiter=self.limiter
                )
        except TimeoutError:
            return _gateway_error(504, "Service Unavailable")
        except Exception:
            log.exception("Lambda handler crashed")
            return _gateway_error(500, "Internal Server Error")
        return _to_http(result)


def _to_http(result: Any) -> Response:
    """Map a payload 2.0 Lambda result to the HTTP response API Gateway sends."""
    try:
        size = len(json.dumps(result, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        return _gateway_error(500, "Internal Server Error")
    if size > LAMBDA_RESPONSE_LIMIT:
        return _gateway_error(500, "Internal Server Error")
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 infers a 200 JSON response from any other JSON value.
        return Response(
            json.dumps(result, separators=(",", ":")).encode(),
            200,
            headers={"content-type": "application/json"},
        )
    status, raw_body = result.get("statusCode"), result.get("body") or ""
    if not isinstance(status, int) or not 100 <= status <= 599 or not isinstance(raw_body, str):
        return _gateway_error(500, "Internal Server Error")
    try:
        body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else raw_body.encode()
    except ValueError:
        return _gateway_error(500, "Internal Server Error")
    response = Response(body, status)
    for name, value in (result.get("headers") or {}).items():
        response.headers[str(name).lower()] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.append("set-cookie", str(cookie))
    if "content-type" not in response.headers:
        response.headers["content-type"] = "application/json"
    return response


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past ``limit`` (the rest is never buffered)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_gateway_app(
    handler: LambdaHandler,
    verifier: Verifier,
    settings: SandboxSettings,
    drifts: Drifts | None = None,
    *,
    cors: CorsPolicy | None = None,
) -> Starlette:
    """The serverless flavour's HTTP front door."""
    endpoint = _Gateway(handler, verifier, settings, drifts or Drifts(), cors or CorsPolicy())
    # An ASGI class as endpoint: Starlette then routes every method to it.
    app = Starlette(routes=[StarletteRoute("/{path:path}", endpoint)])
    app.state.faults = endpoint.faults
    return app
