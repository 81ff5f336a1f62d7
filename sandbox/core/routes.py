"""The route table both flavours serve: every endpoint of moc-api.md.

The Express adapter matches requests against it itself; the local API Gateway uses it as
its route configuration (``routeKey``) and the Lambda handler dispatches on the route key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

__all__ = ["ROUTES", "Route", "decode_params", "match_route", "routed_path", "routes_for"]

Auth = Literal["public", "user"]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/api/mocs/{mocId}"
    handler: str  # name of the method on sandbox.core.service.Application
    auth: Auth = "public"
    express_only: bool = False  # e.g. /debug/routes

    @property
    def key(self) -> str:
        """API Gateway v2 route key, e.g. ``GET /api/mocs/{mocId}``."""
        return f"{self.method} {self.template}"

    @property
    def express_path(self) -> str:
        """Express' spelling of the template, e.g. ``/api/mocs/:mocId``."""
        return re.sub(r"\{(\w+)\}", r":\1", self.template)

    @property
    def regex(self) -> re.Pattern[str]:
        return _compile(self.template)


def _compile(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")


_R = Route
# Literal segments ("/search", "/stats") come before "{id}" templates so they win.
ROUTES: tuple[Route, ...] = (
    _R("GET", "/health", "health"),
    _R("GET", "/debug/config", "debug_config"),
    _R("GET", "/debug/routes", "debug_routes", express_only=True),
    _R("GET", "/api/mocs", "list_mocs"),
    _R("GET", "/api/mocs/search", "search_mocs"),
    _R("GET", "/api/mocs/stats", "moc_stats"),
    _R("GET", "/api/mocs/{mocId}", "get_moc"),
    _R("POST", "/api/mocs", "create_moc", "user"),
    _R("PATCH", "/api/mocs/{mocId}", "update_moc", "user"),
    _R("DELETE", "/api/mocs/{mocId}", "delete_moc", "user"),
    _R("POST", "/api/mocs/{mocId}/files", "upload_moc_file", "user"),
    _R("POST", "/api/mocs/{mocId}/files/presign", "presign_moc_file", "user"),
    _R("POST", "/api/mocs/{mocId}/files/complete", "complete_moc_file", "user"),
    _R("GET", "/api/images", "list_images", "user"),
    _R("GET", "/api/images/search", "search_images", "user"),
    _R("GET", "/api/images/{imageId}", "get_image", "user"),
    _R("POST", "/api/images", "upload_image", "user"),
    _R("PATCH", "/api/images/{imageId}", "update_image", "user"),
    _R("DELETE", "/api/images/{imageId}", "delete_image", "user"),
    _R("GET", "/api/albums", "list_albums", "user"),
    _R("POST", "/api/albums", "create_album", "user"),
    _R("GET", "/api/albums/{albumId}", "get_album", "user"),
    _R("DELETE", "/api/albums/{albumId}", "delete_album", "user"),
    _R("GET", "/api/wishlist", "list_wishlist", "user"),
    _R("GET", "/api/wishlist/search", "search_wishlist", "user"),
    _R("POST", "/api/wishlist", "create_wishlist_item", "user"),
    _R("POST", "/api/wishlist/reorder", "reorder_wishlist", "user"),
    _R("PATCH", "/api/wishlist/{itemId}", "update_wishlist_item", "user"),
    _R("DELETE", "/api/wishlist/{itemId}", "delete_wishlist_item", "user"),
    _R("GET", "/api/users/me", "get_profile", "user"),
    _R("POST", "/api/users/me/avatar", "upload_avatar", "user"),
)


def routes_for(flavour: str, routes: tuple[Route, ...] = ROUTES) -> tuple[Route, ...]:
    return tuple(r for r in routes if flavour == "express" or not r.express_only)


def routed_path(raw_path: str) -> str:
    """The path both routers match: the request's path as sent (percent-encoded, so an
    encoded slash stays inside its segment) with one trailing slash dropped. Express does
    so by default (strict routing off: /api/mocs/ is /api/mocs), and so does API Gateway,
    which answers /pets/ from the GET /pets route (the Lambda still sees /pets/ as
    rawPath)."""
    if len(raw_path) > 1 and raw_path.endswith("/"):
        return raw_path[:-1]
    return raw_path


def decode_params(params: dict[str, str]) -> dict[str, str]:
    """Route parameters decoded after matching, as Express' ``decode_param`` and API
    Gateway's pathParameters do (``a%2Fb`` -> ``a/b``)."""
    return {name: unquote(value) for name, value in params.items()}


def match_route(
    method: str, path: str, routes: tuple[Route, ...] = ROUTES
) -> tuple[Route | None, dict[str, str], bool]:
    """Return (route, path params, path_known).

    ``path_known`` is True when some route matches the path with another method, so the
    caller can tell a 404 (no such path) from a method mismatch (Express answers 404 for
    both, and so does API Gateway).
    """
    path_known = False
    for route in routes:
        m = route.regex.match(path)
        if not m:
            continue
        if route.method == method.upper():
            return route, m.groupdict(), True
        path_known = True
    return None, {}, path_known
