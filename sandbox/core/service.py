"""``Application``: the one implementation of every endpoint that both flavours call.

The adapters (Express-like ASGI app, Lambda handlers behind the local gateway) translate
their wire format to a ``CoreRequest``, authenticate ``user`` routes, and call
``Application.handle(route, request)``. ``handle`` applies the cross-cutting rules (test
hooks, production mode, users row, error envelope) and runs the handler named by
``route.handler``; the handlers live per resource in ``mocs.py``, ``gallery.py``,
``wishlist.py`` and ``users.py``, the operational ones (health, debug) here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from sandbox.core.common import NO_STORE, Context
from sandbox.core.gallery import GalleryService
from sandbox.core.http import (
    ApiError,
    CoreRequest,
    CoreResponse,
    error_envelope,
    success,
)
from sandbox.core.infra import Infrastructure
from sandbox.core.mocs import MocService
from sandbox.core.routes import ROUTES, Route, routes_for
from sandbox.core.users import UserService
from sandbox.core.wishlist import WishlistService
from sandbox.settings import SandboxSettings

__all__ = ["Application", "Handler", "internal_error"]

log = logging.getLogger(__name__)

Handler = Callable[[CoreRequest], CoreResponse]


def internal_error() -> CoreResponse:
    return CoreResponse(500, error_envelope("INTERNAL", "Internal server error"))


class Application:
    """Thread-safe: one instance per flavour serves all requests of that flavour, from
    any number of threads. Handlers block (database, S3, and ``X-Debug-Fault: timeout``
    sleeps ``fault_timeout_s``), so async adapters must call ``handle`` in a thread.

    ``settings.latency_ms`` / ``error_rate`` are *not* applied here: the gateway applies
    them (only the serverless flavour degrades), see sandbox/gateway.py."""

    def __init__(
        self,
        flavour: Literal["express", "serverless"],
        infra: Infrastructure,
        settings: SandboxSettings,
    ) -> None:
        self.flavour = flavour
        self.infra = infra
        self.settings = settings
        self.started = time.monotonic()
        self.cache = infra.cache(flavour)
        ctx = Context(flavour, infra.db, self.cache, infra.storage, settings)
        self.users = UserService(ctx)
        self.mocs = MocService(ctx)
        self.gallery = GalleryService(ctx)
        self.wishlist = WishlistService(ctx)
        self._handlers: dict[str, Handler] = {
            "health": self.health,
            "debug_config": self.debug_config,
            "debug_routes": self.debug_routes,
            **self.users.handlers(),
            **self.mocs.handlers(),
            **self.gallery.handlers(),
            **self.wishlist.handlers(),
        }
        missing = sorted({r.handler for r in ROUTES} - set(self._handlers))
        if missing:  # a route table edit without a handler: fail at start, not per request
            raise RuntimeError(f"no handler for routes: {', '.join(missing)}")

    def handler(self, name: str) -> Handler:
        """The raw handler named ``name`` (``Route.handler``); prefer ``handle``."""
        return self._handlers[name]

    def __getattr__(self, name: str) -> Handler:
        # lets callers write app.list_mocs(req) like the route table's handler names
        if name.startswith("_") or "_handlers" not in self.__dict__:
            raise AttributeError(name)
        try:
            return self._handlers[name]
        except KeyError:
            raise AttributeError(name) from None

    # -- the entry point ---------------------------------------------------------------

    def handle(self, route: Route, req: CoreRequest) -> CoreResponse:
        try:
            return self._dispatch(route, req)
        except ApiError as exc:
            return exc.to_response()
        except Exception:
            log.exception("%s %s: unhandled error", req.method, req.path)
            return internal_error()

    def _dispatch(self, route: Route, req: CoreRequest) -> CoreResponse:
        is_debug = route.template.startswith("/debug/")
        if is_debug and (
            self.settings.production or (route.express_only and self.flavour != "express")
        ):
            raise ApiError("NOT_FOUND", "Route not found")
        if not self.settings.production:
            fault = (req.header("x-debug-fault") or "").strip().lower()
            if fault == "500":
                return internal_error()
            if fault == "503":
                return CoreResponse(
                    503, error_envelope("SERVICE_UNAVAILABLE", "Service unavailable")
                )
            if fault == "timeout":
                time.sleep(self.settings.fault_timeout_s)
                return internal_error()
        if route.auth == "user" and req.principal is None:
            raise ApiError("UNAUTHORIZED", "Unauthorized")
        if req.json_error:  # like Express' body parser: malformed JSON never reaches a handler
            raise ApiError(
                "VALIDATION_ERROR",
                "Invalid JSON body",
                [{"field": "body", "issue": "invalid JSON"}],
            )
        nul = _field_with_nul(req)
        if nul is not None:  # PostgreSQL text cannot hold NUL: a 400, not the driver's 500
            raise ApiError(
                "VALIDATION_ERROR",
                "Validation failed",
                [{"field": nul, "issue": "must not contain the NUL character"}],
            )
        if req.principal is not None:
            self.users.ensure_user(req.principal)
        return self._handlers[route.handler](req)

    # -- operational endpoints -----------------------------------------------------------

    def health(self, req: CoreRequest) -> CoreResponse:
        checks = {
            "db": _probe(self.infra.db.ping),
            "cache": _probe(self.cache.ping),
            "storage": _probe(self.infra.storage.ping),
        }
        data: dict[str, Any] = {
            "uptime": round(time.monotonic() - self.started, 3),
            "version": self.settings.version,
            **checks,
        }
        if all(v == "ok" for v in checks.values()):
            return success(data, "OK").with_headers(NO_STORE)
        body = error_envelope("SERVICE_UNAVAILABLE", "Service unavailable")
        body["data"] = data  # same shape as the 200, so monitors read one format
        return CoreResponse(503, body, dict(NO_STORE))

    def debug_config(self, req: CoreRequest) -> CoreResponse:
        data = {
            "backend": self.flavour,
            "version": self.settings.version,
            "migrationMode": self.settings.migration_mode,
            "cachePrefix": self.cache.prefix,
            "database": self.infra.database_label,
            "production": self.settings.production,
        }
        return success(data, "Debug config").with_headers(NO_STORE)

    def debug_routes(self, req: CoreRequest) -> CoreResponse:
        routes = [{"method": r.method, "path": r.express_path} for r in routes_for("express")]
        return success({"routes": routes}, "Routes retrieved").with_headers(NO_STORE)


def _probe(check: Callable[[], None]) -> str:
    try:
        check()
    except Exception as exc:  # any failure means "down"
        log.warning("health check %s failed: %s", getattr(check, "__qualname__", check), exc)
        return "down"
    return "ok"


def _field_with_nul(req: CoreRequest) -> str | None:
    """The first input field (query, path, form or JSON body) holding a NUL character."""
    for source in (req.query, req.path_params, req.form):
        for name, value in source.items():
            if "\x00" in name or "\x00" in value:
                return name

    def walk(value: Any, where: str) -> str | None:
        if isinstance(value, str):
            return where if "\x00" in value else None
        if isinstance(value, dict):
            for key, item in value.items():
                found = walk(key, where) or walk(item, f"{where}.{key}" if where else str(key))
                if found is not None:
                    return found
        elif isinstance(value, list):
            for i, item in enumerate(value):
                found = walk(item, f"{where}[{i}]")
                if found is not None:
                    return found
        return None

    found = walk(req.json, "") if req.json is not None else None
    return None if found is None else (found or "body")
