"""The drift hooks of the boundary/auth/CORS/config drifts, in isolation (end to end, each
is caught by its check: tests/drift/test_boundary_auth_cors_drifts.py)."""

from __future__ import annotations

from sandbox.core.http import CoreRequest, CoreResponse, Principal
from sandbox.core.routes import ROUTES, Route
from sandbox.drift import DRIFTS, Drifts
from sandbox.gateway import LAMBDA_EVENT_LIMIT, PAYLOAD_LIMIT

PATCH = next(r for r in ROUTES if r.key == "PATCH /api/mocs/{mocId}")
ALICE, BOB = Principal("alice-sub", "alice"), Principal("bob-sub", "bob")


def test_every_drift_is_registered() -> None:
    assert {"upload-limit", "auth-bypass", "cors-header", "cache-control", "fault-ignored"} <= set(
        DRIFTS
    )


def test_clean_drifts_change_nothing() -> None:
    clean = Drifts()
    assert clean.gateway_limits(PAYLOAD_LIMIT, LAMBDA_EVENT_LIMIT) == (
        PAYLOAD_LIMIT,
        LAMBDA_EVENT_LIMIT,
    )
    headers = {"access-control-allow-headers": "authorization,content-type"}
    assert clean.preflight_headers(headers) == headers
    assert clean.web_headers("/config.json", {"Cache-Control": "max-age=60"}) == {
        "Cache-Control": "max-age=60"
    }


def test_upload_limit_lowers_the_lambda_event_limit() -> None:
    payload, event = Drifts(["upload-limit"]).gateway_limits(PAYLOAD_LIMIT, LAMBDA_EVENT_LIMIT)
    assert payload == PAYLOAD_LIMIT and event == 5 * 1024 * 1024


def test_cors_header_drops_authorization() -> None:
    headers = {"access-control-allow-headers": "authorization,content-type,x-debug-fault"}
    out = Drifts(["cors-header"]).preflight_headers(headers)
    assert out["access-control-allow-headers"] == "content-type,x-debug-fault"


def test_cache_control_drops_max_age_on_config_only() -> None:
    drift = Drifts(["cache-control"])
    assert drift.web_headers("/config.json", {"Cache-Control": "max-age=60"}) == {
        "Cache-Control": "no-cache"
    }
    assert drift.web_headers("/", {"Cache-Control": "no-cache"}) == {"Cache-Control": "no-cache"}


def test_fault_ignored_strips_the_header() -> None:
    req = CoreRequest("GET", "/health", "/health", headers={"x-debug-fault": "500", "a": "b"})
    route = next(r for r in ROUTES if r.key == "GET /health")
    assert Drifts(["fault-ignored"]).transform_request(route, req).headers == {"a": "b"}


def test_auth_bypass_acts_as_the_author_on_patch_only() -> None:
    calls: list[tuple[str, str | None]] = []

    def handle(route: Route, req: CoreRequest) -> CoreResponse:
        calls.append((route.key, req.principal.user_id if req.principal else None))
        if route.method == "GET":
            return CoreResponse(200, {"data": {"authorId": ALICE.user_id}})
        owner = req.principal is not None and req.principal.user_id == ALICE.user_id
        return CoreResponse(200 if owner else 403, {})

    req = CoreRequest("PATCH", "/api/mocs/1", PATCH.template, {"mocId": "1"}, principal=BOB)
    assert Drifts().call(handle, PATCH, req).status == 403
    calls.clear()
    assert Drifts(["auth-bypass"]).call(handle, PATCH, req).status == 200
    assert calls == [("GET /api/mocs/{mocId}", BOB.user_id), (PATCH.key, ALICE.user_id)]
    delete = next(r for r in ROUTES if r.key == "DELETE /api/mocs/{mocId}")
    assert Drifts(["auth-bypass"]).call(handle, delete, req).status == 403
