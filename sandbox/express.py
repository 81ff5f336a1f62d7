"""The Express flavour: an ASGI app behaving like the legacy Express server.

Middleware order mirrors a typical Express app: ``cors()`` (answers every ``OPTIONS``
itself), ``express.json()`` (global, so a malformed JSON body is a 400 even on an unknown
path), the router (no match, by path or by method -> 404 envelope), the route-level auth
middleware (401 envelope), multer on the route (50 MB, 413 envelope), then the handler.
``res.json`` adds what Express adds: ``X-Powered-By``, a weak ``ETag`` and conditional
GET (304).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as StarletteRoute
from starlette.types import Receive, Scope, Send

from sandbox.auth import Verifier, verify_header
from sandbox.bodies import is_json, is_multipart, parse_json, parse_multipart
from sandbox.core.http import ApiError, CoreRequest, CoreResponse, Principal
from sandbox.core.routes import (
    ROUTES,
    Route,
    decode_params,
    match_route,
    routed_path,
    routes_for,
)
from sandbox.cors import ALLOWED_HEADERS, ALLOWED_METHODS, MAX_AGE_S, CorsPolicy
from sandbox.settings import SandboxSettings

__all__ = ["create_express_app", "express_etag"]

log = logging.getLogger("sandbox.express")

_JSON_TYPE = "application/json; charset=utf-8"


class _Handles(Protocol):
    def handle(self, route: Route, req: CoreRequest) -> CoreResponse: ...


class _TooLarge(Exception):
    pass


def express_etag(body: bytes) -> str:
    """Express' default weak ETag (the ``etag`` package): length in hex and a SHA-1 prefix."""
    digest = base64.b64encode(hashlib.sha1(body).digest()).decode("ascii")[:27]
    return f'W/"{len(body):x}-{digest}"'


def _fresh(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison, as the ``fresh`` package does.
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag.removeprefix("W/") in tags


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    response = Response(raw, status)
    response.headers["content-type"] = _JSON_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _error(exc: ApiError) -> Response:
    resp = exc.to_response()
    return _json(resp.status, resp.body, resp.headers)


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class _Express:
    """The ASGI endpoint behind the catch-all route."""

    def __init__(
        self, app: _Handles, verifier: Verifier, settings: SandboxSettings, cors: CorsPolicy
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.settings = settings
        self.cors = cors
        self.routes = routes_for("express", ROUTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        request_id = str(uuid.uuid4())
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            response = self._preflight()
        else:
            try:
                response = await self._serve(request, request_id)
            except ApiError as exc:
                response = _error(exc)
            except Exception:  # Express' default error handler, in the envelope
                log.exception("express adapter failure")
                response = _error(ApiError("INTERNAL", "Internal server error"))
            response = self._finish(request, response)
        response.headers["x-powered-by"] = "Express"
        response.headers["vary"] = "Origin"  # cors() sets it for any non-"*" origin option
        if self.cors.allows(origin):
            response.headers["access-control-allow-origin"] = origin or ""
        response.headers["x-request-id"] = request_id
        await response(scope, receive, send)

    def _preflight(self) -> Response:
        # cors() ends every OPTIONS with 204; a disallowed origin only lacks the
        # Access-Control-Allow-Origin header.
        response = Response(status_code=204)
        response.headers["access-control-allow-methods"] = ",".join(ALLOWED_METHODS)
        response.headers["access-control-allow-headers"] = ",".join(ALLOWED_HEADERS)
        response.headers["access-control-max-age"] = str(MAX_AGE_S)
        response.headers["content-length"] = "0"
        return response

    def _finish(self, request: Request, response: Response) -> Response:
        body = bytes(response.body)
        if not body:
            return response
        etag = express_etag(body)
        response.headers["etag"] = etag
        ok = 200 <= response.status_code < 300 or response.status_code == 304
        if (
            request.method in ("GET", "HEAD")
            and ok
            and _fresh(request.headers.get("if-none-match"), etag)
        ):
            not_modified = Response(status_code=304)
            for name in ("etag", "cache-control"):
                if name in response.headers:
                    not_modified.headers[name] = response.headers[name]
            return not_modified
        return response

    async def _serve(self, request: Request, request_id: str) -> Response:
        method = "GET" if request.method == "HEAD" else request.method  # router.get serves HEAD
        content_type = request.headers.get("content-type")
        limit = self.settings.express_upload_limit
        body = b""
        parsed_json: Any = None
        if is_json(content_type):  # express.json() runs before the router
            body = await self._body(request, limit)
            parsed_json = parse_json(body)
        raw_path = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        route, path_params, _ = match_route(method, routed_path(raw_path), self.routes)
        path_params = decode_params(path_params)
        if route is None:
            raise ApiError("NOT_FOUND", "Route not found")
        principal: Principal | None = None
        if route.auth == "user":
            claims = await verify_header(
                self.verifier, request.headers.get("authorization"), bare_allowed=False
            )
            if claims is None:
                raise ApiError("UNAUTHORIZED", "Unauthorized")
            principal = Principal.from_claims(claims)
        form: dict[str, str] = {}
        files: dict[str, Any] = {}
        if is_multipart(content_type):
            body = await self._body(request, limit)
            form, files = parse_multipart(body, content_type or "")
        elif not is_json(content_type):
            body = await self._body(request, limit)
        headers: dict[str, str] = {}
        for name, value in request.headers.items():  # Node joins repeated headers with ", "
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        req = CoreRequest(
            method=method,
            path=request.url.path,
            route=route.template,
            path_params=path_params,
            # qs gives a repeated parameter as an array, which the handler's string and
            # number coercions read as the values joined with "," (String(["5", "10"])).
            query={k: ",".join(request.query_params.getlist(k)) for k in request.query_params},
            headers=headers,
            body=body,
            json=parsed_json,
            form=form,
            files=files,
            principal=principal,
            request_id=request_id,
        )
        resp = await run_in_threadpool(self.app.handle, route, req)
        return _json(resp.status, resp.body, resp.headers)

    async def _body(self, request: Request, limit: int) -> bytes:
        length = request.headers.get("content-length")
        try:
            if length is not None and length.isdigit() and int(length) > limit:
                raise _TooLarge  # refuse before reading a byte
            return await _read_limited(request, limit)
        except _TooLarge:
            # multer's LIMIT_FILE_SIZE, through the app's error handler
            raise ApiError("PAYLOAD_TOO_LARGE", "File too large") from None


def create_express_app(
    app: _Handles,
    verifier: Verifier,
    settings: SandboxSettings,
    *,
    cors: CorsPolicy | None = None,
) -> Starlette:
    """The Express flavour over ``app`` (an ``Application`` of flavour ``express``)."""
    endpoint = _Express(app, verifier, settings, cors or CorsPolicy())
    # An ASGI class as endpoint: Starlette then routes every method to it.
    return Starlette(routes=[StarletteRoute("/{path:path}", endpoint)])
