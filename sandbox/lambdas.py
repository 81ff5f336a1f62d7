"""Lambda handlers of the serverless flavour: API Gateway v2 (payload format 2.0) events.

This is what the team's Node handlers do, written once over the shared application core:
read the route key, the path and query parameters, the (possibly base64) body and the
JWT claims the gateway's authorizer put into the event, call ``Application.handle``, and
answer a payload 2.0 response.  The gateway (:mod:`sandbox.gateway`) is the only caller in
the sandbox, but nothing here depends on it: a recorded real event works as well.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sandbox.bodies import is_json, is_multipart, parse_json, parse_multipart
from sandbox.core.http import ApiError, CoreRequest, CoreResponse, Principal
from sandbox.core.routes import ROUTES, Route, routes_for
from sandbox.drift import Drifts

__all__ = [
    "LambdaContext",
    "LambdaHandler",
    "make_handler",
    "to_core_request",
    "to_lambda_result",
]

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


class _Handles(Protocol):
    """What the handler needs of ``sandbox.core.service.Application``."""

    def handle(self, route: Route, req: CoreRequest) -> CoreResponse: ...


@dataclass
class LambdaContext:
    """The parts of the Lambda context object a handler commonly reads."""

    timeout_s: float = 30.0
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "moc-api"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._started)) * 1000))


def make_handler(
    app: _Handles, drifts: Drifts | None = None, routes: tuple[Route, ...] = ROUTES
) -> LambdaHandler:
    """A Lambda handler serving every serverless route of ``app``.

    ``drifts`` (serverless only) may rewrite the request before and the response after
    ``app.handle``; the route table itself is filtered by the gateway, not here, because in
    AWS a missing endpoint is a missing gateway route.
    """
    by_key = {r.key: r for r in routes_for("serverless", routes)}
    active = drifts if drifts is not None else Drifts()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        route = by_key.get(str(event.get("routeKey", "")))
        if route is None:  # only reachable with a hand-made event: the gateway routed it
            return to_lambda_result(ApiError("NOT_FOUND", "Route not found").to_response())
        try:
            req = to_core_request(route, event, context)
        except ApiError as exc:  # malformed JSON or multipart body
            return to_lambda_result(exc.to_response())
        req = active.transform_request(route, req)
        resp = active.call(app.handle, route, req)
        return to_lambda_result(active.transform_response(route, req, resp))

    return handler


def to_core_request(route: Route, event: dict[str, Any], context: Any = None) -> CoreRequest:
    """Translate a payload 2.0 event; raises ``ApiError`` for a malformed body."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if event.get("cookies"):  # payload 2.0 moves cookies out of the headers
        headers["cookie"] = "; ".join(event["cookies"])
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    ctx = event.get("requestContext") or {}
    claims = ((ctx.get("authorizer") or {}).get("jwt") or {}).get("claims")
    req = CoreRequest(
        method=str((ctx.get("http") or {}).get("method") or route.method),
        path=str(event.get("rawPath") or route.template),
        route=route.template,
        path_params=dict(event.get("pathParameters") or {}),
        query=dict(event.get("queryStringParameters") or {}),
        headers=headers,
        body=body,
        principal=Principal.from_claims(claims) if claims else None,
        request_id=str(getattr(context, "aws_request_id", "") or ctx.get("requestId", "")),
    )
    content_type = headers.get("content-type")
    if is_json(content_type):
        req.json = parse_json(body)
    elif is_multipart(content_type):
        req.form, req.files = parse_multipart(body, content_type or "")
    return req


def to_lambda_result(resp: CoreResponse) -> dict[str, Any]:
    """A payload 2.0 response: JSON body as a string, never base64."""
    headers = {"content-type": "application/json"}
    headers.update({k.lower(): v for k, v in resp.headers.items()})
    if isinstance(resp.body, bytes):
        return {
            "statusCode": resp.status,
            "headers": headers,
            "body": base64.b64encode(resp.body).decode("ascii"),
            "isBase64Encoded": True,
        }
    body = resp.body if isinstance(resp.body, str) else _dumps(resp.body)
    return {"statusCode": resp.status, "headers": headers, "body": body, "isBase64Encoded": False}


def _dumps(value: Any) -> str:
    # JSON.stringify's spelling: no spaces, non-ASCII kept as is.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
