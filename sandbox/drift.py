"""Named, deliberate divergences of the serverless flavour from the Express one.

The suite's self-tests start a sandbox with ``--drift NAME`` and prove that the check
meant to catch that kind of difference does.  Only the serverless flavour ever drifts:
the gateway asks :meth:`Drifts.filter_routes` for its route table, and the Lambda handler
wrapper passes each request and response through :meth:`Drifts.transform_request` and
:meth:`Drifts.transform_response` around ``Application.handle``.

Adding a drift = one small function decorated with ``@_drift(name, description, hook)``.
Hooks: ``routes`` (the gateway's route table), ``request``/``response`` (around the
application call), ``handler`` (wraps the call itself), ``limits`` (the gateway's payload and
Lambda event limits), ``preflight`` (the gateway's CORS preflight headers), ``web`` (the
web host's headers, e.g. ``/config.json``: the frontend's S3 bucket is part of the rollout)
and ``unrouted`` (a request no gateway route matches: a proxy route to a framework).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

from sandbox.core.common import NO_STORE
from sandbox.core.http import CoreRequest, CoreResponse, error_envelope, success
from sandbox.core.mocs import MAX_TITLE
from sandbox.core.routes import ROUTES, Route

__all__ = ["DRIFTS", "Drifts"]

RouteFilter = Callable[[tuple[Route, ...]], tuple[Route, ...]]
RequestHook = Callable[[Route, CoreRequest], CoreRequest]
ResponseHook = Callable[[Route, CoreRequest, CoreResponse], CoreResponse]
#: The application call (``Application.handle``), for hooks that wrap it.
Call = Callable[[Route, CoreRequest], CoreResponse]
HandlerHook = Callable[[Route, CoreRequest, Call], CoreResponse]
#: (request payload limit, Lambda event limit) -> the limits the gateway enforces.
LimitsHook = Callable[[int, int], tuple[int, int]]
#: The gateway's preflight answer headers -> the headers it sends.
PreflightHook = Callable[[dict[str, str]], dict[str, str]]
#: The web host's answer headers for a path -> the headers it sends.
WebHook = Callable[[str, dict[str, str]], dict[str, str]]
#: (method, path, whether another method serves the path) of a request no gateway route
#: matches -> the answer instead of the gateway's 404, or None.
UnroutedHook = Callable[[str, str, bool], CoreResponse | None]
Hook = Literal["routes", "request", "response", "handler", "limits", "preflight", "web", "unrouted"]


@dataclass(frozen=True)
class _Drift:
    name: str
    description: str
    hook: Hook
    fn: Callable[..., Any]


_REGISTRY: dict[str, _Drift] = {}


def _drift(name: str, description: str, hook: Hook) -> Callable[[Callable[..., Any]], Any]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = _Drift(name, description, hook, fn)
        return fn

    return register


# --- the drifts --------------------------------------------------------------------------


@_drift(
    "missing-endpoint",
    'GET /api/mocs/stats has no gateway route: serverless answers 404 {"message":"Not Found"}',
    "routes",
)
def _missing_endpoint(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    return tuple(r for r in routes if r.key != "GET /api/mocs/stats")


@_drift("status-code", "POST /api/mocs answers 200 instead of 201", "response")
def _status_code(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if route.key == "POST /api/mocs" and resp.status == 201:
        return replace(resp, status=200)
    return resp


# --- upload limit, auth, CORS, cache and fault drifts (issue #5: boundary/auth/cors/health) --


@_drift(
    "upload-limit",
    "the serverless upload path is capped at 5 MB of Lambda event instead of 6 MB: with "
    "base64 the direct-upload ceiling falls from about 4.5 MiB to about 3.7 MiB, below the "
    "client threshold",
    "limits",
)
def _upload_limit(payload_limit: int, event_limit: int) -> tuple[int, int]:
    return payload_limit, 5 * 1024 * 1024


@_drift(
    "auth-bypass",
    "bob may PATCH alice's MOC: PATCH /api/mocs/{mocId} skips the owner check",
    "handler",
)
def _auth_bypass(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    if route.key != "PATCH /api/mocs/{mocId}" or req.principal is None:
        return call(route, req)
    # Act as the MOC's author: the handler's owner check then passes for anybody.
    get = next(r for r in ROUTES if r.key == "GET /api/mocs/{mocId}")
    found = call(get, replace(req, method="GET", route=get.template, body=b"", json=None))
    author = found.body.get("data", {}).get("authorId") if found.status == 200 else None
    if not author:
        return call(route, req)
    owner = replace(req.principal, user_id=str(author))
    return call(route, replace(req, principal=owner))


@_drift(
    "cors-header",
    "the serverless CORS configuration lacks Authorization in Access-Control-Allow-Headers",
    "preflight",
)
def _cors_header(headers: dict[str, str]) -> dict[str, str]:
    allowed = headers.get("access-control-allow-headers")
    if allowed is not None:
        kept = [h for h in allowed.split(",") if h.strip().lower() != "authorization"]
        headers["access-control-allow-headers"] = ",".join(kept)
    return headers


@_drift(
    "cache-control",
    "the web host serves /config.json without max-age (Cache-Control: no-cache), so a "
    "rollback by config no longer reaches users within 60 s as the plan assumes",
    "web",
)
def _cache_control(path: str, headers: dict[str, str]) -> dict[str, str]:
    if path == "/config.json":
        headers = {k: v for k, v in headers.items() if k.lower() != "cache-control"}
        headers["Cache-Control"] = "no-cache"
    return headers


@_drift(
    "fault-ignored",
    "the serverless flavour ignores X-Debug-Fault: the 500 path cannot be exercised there",
    "request",
)
def _fault_ignored(route: Route, req: CoreRequest) -> CoreRequest:
    if "x-debug-fault" not in req.headers:
        return req
    headers = {k: v for k, v in req.headers.items() if k != "x-debug-fault"}
    return replace(req, headers=headers)


# --- contract drifts (issue #3: capture -> infer -> validate) ------------------------------
# Each touches its own resource family, so a self-test can inject several into one sandbox
# and still tell which contract check caught which drift.


def _rewrite(value: Any, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """A copy of ``value`` with ``fn`` applied to every object, innermost first (cached
    answers are shared objects: never change them in place)."""
    if isinstance(value, dict):
        return fn({k: _rewrite(v, fn) for k, v in value.items()})
    if isinstance(value, list):
        return [_rewrite(v, fn) for v in value]
    return value


def _on_data(resp: CoreResponse, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> CoreResponse:
    if not isinstance(resp.body, dict) or "data" not in resp.body:
        return resp
    return replace(resp, body={**resp.body, "data": _rewrite(resp.body["data"], fn)})


def _is_moc(route: Route) -> bool:
    return route.template.startswith("/api/mocs")


@_drift("field-rename", "MOCs carry piece_count instead of pieceCount (/api/mocs*)", "response")
def _field_rename(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if not _is_moc(route):
        return resp
    return _on_data(
        resp,
        lambda o: {("piece_count" if k == "pieceCount" else k): v for k, v in o.items()},
    )


@_drift("type-change", 'MOCs carry pieceCount as a string ("1450") (/api/mocs*)', "response")
def _type_change(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if not _is_moc(route):
        return resp
    return _on_data(
        resp,
        lambda o: {**o, "pieceCount": str(o["pieceCount"])} if "pieceCount" in o else o,
    )


def _epoch_millis(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return int(moment.timestamp() * 1000)


@_drift(
    "date-format",
    "wishlist items carry createdAt as epoch milliseconds, not ISO-8601 (/api/wishlist*)",
    "response",
)
def _date_format(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if not route.template.startswith("/api/wishlist"):
        return resp
    return _on_data(
        resp,
        lambda o: {**o, "createdAt": _epoch_millis(o["createdAt"])} if "createdAt" in o else o,
    )


@_drift(
    "null-vs-absent",
    "gallery images omit albumId instead of sending null (/api/images*, /api/albums*)",
    "response",
)
def _null_vs_absent(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if not route.template.startswith(("/api/images", "/api/albums")):
        return resp
    return _on_data(
        resp,
        lambda o: {k: v for k, v in o.items() if not (k == "albumId" and v is None)},
    )


@_drift(
    "error-shape",
    'application 404s answer {"message": ...} without the envelope (every route)',
    "response",
)
def _error_shape(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    body = resp.body
    if resp.status != 404 or not isinstance(body, dict) or "message" not in body:
        return resp
    return replace(resp, body={"message": body["message"]})


# --- differential drifts (issue #4: parity engine and matrix) ------------------------------
# Each touches one endpoint of its own, so one sandbox can carry them all and the matrix
# still says which (endpoint, check) cell caught which drift. search-lag and stale-cache
# only show across backends (the consistency checks), never in a single differential call.


def _with_data(resp: CoreResponse, **changes: Any) -> CoreResponse:
    body = resp.body
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return resp
    return replace(resp, body={**body, "data": {**body["data"], **changes}})


@_drift(
    "pagination",
    "GET /api/images counts pages from 0: page=1 answers the second page, and a request "
    "without page reports page 0",
    "handler",
)
def _pagination(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    if route.key != "GET /api/images":
        return call(route, req)
    query = dict(req.query)
    raw = (query.get("page") or "").strip()
    if raw.isdigit():
        query["page"] = str(int(raw) + 1)  # the handler's page 1 is this drift's page 0
    resp = call(route, replace(req, query=query))
    data = resp.body.get("data") if isinstance(resp.body, dict) else None
    if resp.status != 200 or not isinstance(data, dict) or not isinstance(data.get("page"), int):
        return resp
    return _with_data(resp, page=data["page"] - 1)


@_drift(
    "extra-field",
    "GET /api/mocs/{mocId} adds a field the frontend never asked for (viewCount)",
    "response",
)
def _extra_field(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if route.key != "GET /api/mocs/{mocId}" or resp.status != 200:
        return resp
    return _with_data(resp, viewCount=0)


@_drift(
    "message-text",
    'GET /api/albums says "Albums fetched" instead of "Albums retrieved"',
    "response",
)
def _message_text(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if route.key != "GET /api/albums" or resp.status != 200 or not isinstance(resp.body, dict):
        return resp
    return replace(resp, body={**resp.body, "message": "Albums fetched"})


@_drift("order", "GET /api/wishlist lists the items in reverse position order", "response")
def _order(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    data = resp.body.get("data") if isinstance(resp.body, dict) else None
    if route.key != "GET /api/wishlist" or not isinstance(data, dict):
        return resp
    items = data.get("items")
    if not isinstance(items, list):
        return resp
    return _with_data(resp, items=list(reversed(items)))


@_drift(
    "header-content-type",
    "GET /api/users/me sends its JSON as text/plain (a Lambda that forgot the header)",
    "response",
)
def _header_content_type(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if route.key != "GET /api/users/me":
        return resp
    headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-type"}
    return replace(resp, headers={**headers, "Content-Type": "text/plain; charset=utf-8"})


SEARCH_LAG_S = 8.0


@_drift(
    "search-lag",
    f"GET /api/mocs/search on serverless sees new MOCs only {SEARCH_LAG_S:g} s after they "
    "were created (a lagging search index)",
    "response",
)
def _search_lag(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    data = resp.body.get("data") if isinstance(resp.body, dict) else None
    if route.key != "GET /api/mocs/search" or not isinstance(data, dict):
        return resp
    items = data.get("items")
    if not isinstance(items, list):
        return resp
    cutoff = time.time() - SEARCH_LAG_S

    def indexed(item: Any) -> bool:
        created = _epoch_millis(item.get("createdAt")) if isinstance(item, dict) else None
        return not isinstance(created, int) or created / 1000 <= cutoff

    kept = [i for i in items if indexed(i)]
    total = data.get("total")
    hidden = len(items) - len(kept)
    return _with_data(resp, items=kept, total=total - hidden if isinstance(total, int) else total)


STALE_CACHE_TTL_S = 60.0
_stale_lock = threading.Lock()
# (path, query) -> (stored at, response). Process-wide like the Lambda container's memory;
# only this drift reads it.
_stale_lists: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, CoreResponse]] = {}


@_drift(
    "stale-cache",
    f"serverless caches GET /api/mocs for {STALE_CACHE_TTL_S:g} s in a cache of its own that "
    "only its own writes clear: a MOC created or changed through Express stays invisible",
    "handler",
)
def _stale_cache(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    if route.template.startswith("/api/mocs") and route.method != "GET":
        with _stale_lock:
            _stale_lists.clear()  # its own writes do invalidate
        return call(route, req)
    if route.key != "GET /api/mocs":
        return call(route, req)
    key = (route.key, tuple(sorted(req.query.items())))
    now = time.monotonic()
    with _stale_lock:
        hit = _stale_lists.get(key)
    if hit is not None and now - hit[0] < STALE_CACHE_TTL_S:
        return hit[1]
    resp = call(route, req)
    if resp.status == 200:
        with _stale_lock:
            _stale_lists[key] = (now, resp)
    return resp


# --- noise-format drifts (issue 18: nothing hidden under noise) -----------------------------
# Each changes only a value the differential check does not compare (the catalog declares it
# noise: it differs by nature between the backends), so only the comparison of its *format*
# catches it; charset changes only a header's spelling (a cosmetic finding, never failing).
# Each touches an endpoint of its own.


def _seconds_with_offset(value: Any) -> Any:
    """``2024-06-18T02:00:00.000Z`` -> ``2024-06-18T02:00:00+00:00``."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.replace(microsecond=0).isoformat()


@_drift(
    "timestamp-format",
    "GET /api/albums/{albumId} writes createdAt to the second with +00:00 "
    "(2024-06-18T02:00:00+00:00), not with milliseconds and Z",
    "response",
)
def _timestamp_format(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    data = resp.body.get("data") if isinstance(resp.body, dict) else None
    if route.key != "GET /api/albums/{albumId}" or not isinstance(data, dict):
        return resp
    if "createdAt" not in data:
        return resp
    return _with_data(resp, createdAt=_seconds_with_offset(data["createdAt"]))


@_drift(
    "id-format",
    'GET /api/images/{imageId} answers its id as a number in a string ("48151623"), not a UUID',
    "response",
)
def _id_format(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    import uuid

    data = resp.body.get("data") if isinstance(resp.body, dict) else None
    if route.key != "GET /api/images/{imageId}" or not isinstance(data, dict):
        return resp
    try:
        number = uuid.UUID(str(data.get("id"))).int % 10**9
    except ValueError:
        return resp
    return _with_data(resp, id=str(number))


@_drift(
    "url-host",
    "GET /api/mocs/{mocId} links its files on another host (files.example.net) than the "
    "reference's storage",
    "response",
)
def _url_host(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    from urllib.parse import urlsplit, urlunsplit

    data = resp.body.get("data") if isinstance(resp.body, dict) else None
    if route.key != "GET /api/mocs/{mocId}" or not isinstance(data, dict):
        return resp
    files = data.get("files")
    if not isinstance(files, list):
        return resp

    def moved(item: Any) -> Any:
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or "://" not in url:
            return item
        return {**item, "url": urlunsplit(urlsplit(url)._replace(netloc="files.example.net"))}

    return _with_data(resp, files=[moved(f) for f in files])


@_drift(
    "charset",
    "GET /api/albums spells its Content-Type application/json;charset=UTF-8 (the same "
    "meaning, another spelling: cosmetic)",
    "response",
)
def _charset(route: Route, req: CoreRequest, resp: CoreResponse) -> CoreResponse:
    if route.key != "GET /api/albums":
        return resp
    headers = {k: v for k, v in resp.headers.items() if k.lower() != "content-type"}
    return replace(resp, headers={**headers, "Content-Type": "application/json;charset=UTF-8"})


# --- fuzz drifts (issue #9: OpenAPI, Schemathesis and differential fuzzing) ---------------
# Only generated inputs find these: no catalog scenario sends an emoji or a limit at the
# edge of these two endpoints, nor a title over the limit (title-length: only body fuzzing
# finds it). Each touches its own endpoint.


def _has_emoji(text: str) -> bool:
    # Symbols in the emoji blocks (and anything beyond the BMP, where most emoji live).
    return any(ord(c) > 0xFFFF or 0x2600 <= ord(c) <= 0x27BF for c in text)


@_drift(
    "search-unicode",
    "GET /api/mocs/search answers 500 on serverless when the search term holds an emoji "
    "(a collation the Lambda's driver does not handle)",
    "handler",
)
def _search_unicode(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    if route.key == "GET /api/mocs/search" and _has_emoji(req.query.get("q") or ""):
        return CoreResponse(500, error_envelope("INTERNAL", "Internal server error"))
    return call(route, req)


@_drift(
    "limit-edge",
    "GET /api/images accepts limit=0 and limit=101 on serverless (Express answers 400: the "
    "range is 1..100)",
    "handler",
)
def _limit_edge(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    raw = (req.query.get("limit") or "").strip()
    if route.key != "GET /api/images" or raw not in ("0", "101"):
        return call(route, req)
    asked = int(raw)
    resp = call(route, replace(req, query={**req.query, "limit": "1" if asked == 0 else "100"}))
    if resp.status != 200:
        return resp
    if asked == 0:
        return _with_data(resp, limit=0, items=[])
    return _with_data(resp, limit=asked)


@_drift(
    "title-length",
    f"POST /api/mocs on serverless accepts a title over {MAX_TITLE} characters and silently "
    f"cuts it to {MAX_TITLE} (Express answers 400: a lax column length in the new stack)",
    "handler",
)
def _title_length(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    body = req.json
    title = body.get("title") if isinstance(body, dict) else None
    if route.key != "POST /api/mocs" or not isinstance(title, str) or len(title) <= MAX_TITLE:
        return call(route, req)
    assert isinstance(body, dict)
    return call(route, replace(req, json={**body, "title": title[:MAX_TITLE]}))


# --- probe drifts (issue 17: the probe family) ---------------------------------------------
# Rewrite differences no catalog scenario sends and no earlier family reaches: each of one
# probe kind (path, method, query, body, auth, repetition), each on endpoints of its own.


@_drift(
    "trailing-slash",
    "the users Lambda routes on rawPath strictly (AWS Lambda Powertools' resolver): "
    '/api/users/me/ answers 404 {"statusCode":404,"message":"Not found"}, where Express '
    "(strict routing off) serves it like /api/users/me",
    "handler",
)
def _trailing_slash(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    # API Gateway routes /x/ to the /x route and passes rawPath unchanged; a Lambda-side
    # router matching rawPath exactly then finds nothing.
    if route.template.startswith("/api/users") and len(req.path) > 1 and req.path.endswith("/"):
        return CoreResponse(404, {"statusCode": 404, "message": "Not found"})
    return call(route, req)


def _methods_of(path: str) -> list[str]:
    return [r.method for r in ROUTES if r.regex.match(path)]


@_drift(
    "method-405",
    "the wishlist service is FastAPI behind an ANY /api/wishlist proxy route: a method the "
    'path does not have answers 405 {"detail":"Method Not Allowed"} with Allow, where '
    "Express' router (and API Gateway's route table) answer 404",
    "unrouted",
)
def _method_405(method: str, path: str, known: bool) -> CoreResponse | None:
    if not known or not path.startswith("/api/wishlist") or method in ("HEAD", "OPTIONS"):
        return None
    allow = ", ".join(_methods_of(path))
    return CoreResponse(405, {"detail": "Method Not Allowed"}, {"allow": allow})


#: The query parameters the albums list reads (the rewrite's query model declares them).
_ALBUM_QUERY = frozenset({"page", "limit"})


@_drift(
    "strict-query",
    "GET /api/albums on serverless forbids unknown query parameters (a FastAPI query model "
    'with extra="forbid"): 422 {"detail":[{"type":"extra_forbidden",...}]}, where Express '
    "ignores them",
    "handler",
)
def _strict_query(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    extra = sorted(set(req.query) - _ALBUM_QUERY)
    if route.key != "GET /api/albums" or not extra:
        return call(route, req)
    detail = [
        {
            "type": "extra_forbidden",
            "loc": ["query", name],
            "msg": "Extra inputs are not permitted",
            "input": req.query[name],
        }
        for name in extra
    ]
    return CoreResponse(422, {"detail": detail})


@_drift(
    "content-type-lax",
    "POST /api/mocs/{mocId}/files/presign on serverless parses the body as JSON whatever its "
    "Content-Type (JSON.parse(event.body)), where express.json() reads only application/json "
    "and leaves a text/plain body unparsed (400: the fields are missing)",
    "request",
)
def _content_type_lax(route: Route, req: CoreRequest) -> CoreRequest:
    if route.key != "POST /api/mocs/{mocId}/files/presign" or req.json is not None or not req.body:
        return req
    try:
        parsed = json.loads(req.body)
    except ValueError:
        return req
    return replace(req, json=parsed, json_error=False)


@_drift(
    "bearer-case",
    "the gallery Lambda re-reads Authorization itself and matches the Bearer scheme case-"
    "sensitively (header.startsWith('Bearer ')): 'bearer <token>' answers 401 on /api/images*, "
    "where Express (express-jwt, /^Bearer$/i) and API Gateway's authorizer take it",
    "handler",
)
def _bearer_case(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    header = req.headers.get("authorization", "")
    if route.template.startswith("/api/images") and not header.startswith("Bearer "):
        return CoreResponse(401, error_envelope("UNAUTHORIZED", "Unauthorized"))
    return call(route, req)


#: Ids of MOCs the serverless flavour deleted (process-wide, like a table's tombstones;
#: only this drift reads it).
_tombstones: set[str] = set()
_tombstone_lock = threading.Lock()


@_drift(
    "delete-idempotent",
    "DELETE /api/mocs/{mocId} on serverless soft-deletes (deletedAt) and answers a second "
    "DELETE of the same MOC 200 again, idempotently, where Express answers 404 (an id that "
    "never existed is still 404 on both)",
    "handler",
)
def _delete_idempotent(route: Route, req: CoreRequest, call: Call) -> CoreResponse:
    if route.key != "DELETE /api/mocs/{mocId}":
        return call(route, req)
    moc_id = req.path_params.get("mocId", "")
    resp = call(route, req)
    with _tombstone_lock:
        if resp.status == 200:
            _tombstones.add(moc_id)
            return resp
        gone = resp.status == 404 and moc_id in _tombstones
    if gone:
        return success(None, "MOC deleted").with_headers(dict(NO_STORE))  # as the first one
    return resp


# --- the mechanism -----------------------------------------------------------------------

DRIFTS: dict[str, str] = {d.name: d.description for d in _REGISTRY.values()}


class Drifts:
    """A validated set of active drifts and the hooks they contribute."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        wanted = sorted({n.strip() for n in names if n.strip()})
        unknown = [n for n in wanted if n not in _REGISTRY]
        if unknown:
            raise ValueError(
                f"unknown drift {', '.join(unknown)}: known drifts are {', '.join(sorted(DRIFTS))}"
            )
        self.names: tuple[str, ...] = tuple(wanted)
        self._active = [_REGISTRY[n] for n in wanted]

    def __bool__(self) -> bool:
        return bool(self.names)

    def __repr__(self) -> str:
        return f"Drifts({list(self.names)!r})"

    def _hooks(self, hook: Hook) -> list[Callable[..., Any]]:
        return [d.fn for d in self._active if d.hook == hook]

    def filter_routes(self, routes: tuple[Route, ...]) -> tuple[Route, ...]:
        for fn in self._hooks("routes"):
            routes = fn(routes)
        return routes

    def transform_request(self, route: Route, req: CoreRequest) -> CoreRequest:
        for fn in self._hooks("request"):
            req = fn(route, req)
        return req

    def transform_response(
        self, route: Route, req: CoreRequest, resp: CoreResponse
    ) -> CoreResponse:
        for fn in self._hooks("response"):
            resp = fn(route, req, resp)
        return resp

    def call(self, handle: Call, route: Route, req: CoreRequest) -> CoreResponse:
        """``handle(route, req)``, through the "handler" hooks that wrap it."""
        call = handle
        for fn in self._hooks("handler"):
            call = _wrap(fn, call)
        return call(route, req)

    def gateway_limits(self, payload_limit: int, event_limit: int) -> tuple[int, int]:
        """The (payload, Lambda event) limits the gateway enforces."""
        for fn in self._hooks("limits"):
            payload_limit, event_limit = fn(payload_limit, event_limit)
        return payload_limit, event_limit

    def preflight_headers(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers of the gateway's preflight answer (lower-case names)."""
        for fn in self._hooks("preflight"):
            headers = fn(dict(headers))
        return headers

    def unrouted(self, method: str, path: str, known: bool) -> CoreResponse | None:
        """The answer to a request no gateway route matches (None: the gateway's 404)."""
        for fn in self._hooks("unrouted"):
            answer = fn(method, path, known)
            if answer is not None:
                return cast(CoreResponse, answer)
        return None

    def web_headers(self, path: str, headers: dict[str, str]) -> dict[str, str]:
        """The headers the web host sends with ``path``."""
        for fn in self._hooks("web"):
            headers = fn(path, dict(headers))
        return headers


def _wrap(fn: HandlerHook, inner: Call) -> Call:
    def call(route: Route, req: CoreRequest) -> CoreResponse:
        return fn(route, req, inner)

    return call
