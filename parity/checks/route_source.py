"""The routes the reference serves, from the source the catalog's ``checks.coverage``
names: a listing endpoint of the reference (Express' ``/debug/routes``), or an OpenAPI
document (a file beside the catalog, or a path on the reference such as ``/openapi.json``:
its ``paths`` x methods).

:func:`read_routes` returns ``"METHOD /template"`` strings (Express' ``/x/:id`` spelling
becomes ``/x/{id}``), which :meth:`parity.core.catalog.Catalog.uncovered_routes` reads. A
source that is not there on this target (the reference not selected, a test-only listing
answering 404 on production) is :class:`RouteSourceUnavailable`: the check is then not
testable. A source that is there but not as declared is :class:`RouteSourceError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from parity.core.checkspec import CoverageChecks, OpenApiSource, RouteListing
from parity.core.errors import BackendError, CatalogError
from parity.core.jsonpath import JsonPathError, extract

if TYPE_CHECKING:  # pragma: no cover
    from parity.core.catalog import Catalog
    from parity.engine.client import BackendClient

__all__ = [
    "OPENAPI_METHODS",
    "RouteSourceError",
    "RouteSourceUnavailable",
    "listing_routes",
    "openapi_routes",
    "read_routes",
]

#: The operations of an OpenAPI path item (its other keys are parameters, summary, ...).
OPENAPI_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class RouteSourceUnavailable(BackendError):
    """The source of routes cannot be read on this target: the check is not testable."""


class RouteSourceError(CatalogError):
    """The source of routes does not look as the catalog declares."""


def _method_path(listing: RouteListing, catalog: Catalog) -> tuple[str, str, str]:
    if listing.route is not None:
        method, path = listing.route.split(" ", 1)
        return method, path, listing.role
    endpoint = catalog.get(listing.endpoint)
    return endpoint.method, endpoint.route, listing.role


def listing_routes(body: Any, listing: RouteListing, where: str) -> list[str]:
    """The routes of a listing answer, read as the catalog declares its shape."""
    items = body
    if listing.items is not None:
        try:
            items = extract(body, listing.items)
        except JsonPathError:
            raise RouteSourceError(
                f"{where}: the answer has no {listing.items}",
                hint="Fix checks.coverage.listing.items (the JSON path of the route list)",
            ) from None
    if not isinstance(items, list):
        raise RouteSourceError(
            f"{where}: {listing.items or 'the answer'} is a {type(items).__name__}, not a list",
            hint="Point checks.coverage.listing.items at the list of routes",
        )
    routes: list[str] = []
    for i, item in enumerate(items):
        methods, path = _item(item, listing)
        if methods is None or not isinstance(path, str) or not path.startswith("/"):
            raise RouteSourceError(
                f"{where}: route #{i + 1} {json.dumps(item, default=str)[:120]} is not "
                f"{_shape_said(listing)}",
                hint="Fix checks.coverage.listing.shape (objects, strings or pairs) and its keys",
            )
        routes += [f"{m.upper()} {path.strip()}" for m in methods]
    return routes


def _item(item: Any, listing: RouteListing) -> tuple[list[str] | None, Any]:
    if listing.shape == "strings":
        if not isinstance(item, str):
            return None, None
        method, _, path = item.strip().partition(" ")
        return [m for m in method.split(",") if m], path.strip()
    if listing.shape == "pairs":
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str):
            return None, None
        return [item[0]], item[1]
    if not isinstance(item, dict):
        return None, None
    methods = item.get(listing.method)
    if isinstance(methods, str):
        methods = [methods]
    elif isinstance(methods, dict):  # Express' route.methods: {"get": true}
        methods = [m for m, on in methods.items() if on]
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        return None, None
    return methods, item.get(listing.path)


def _shape_said(listing: RouteListing) -> str:
    if listing.shape == "strings":
        return 'a "METHOD /path" string'
    if listing.shape == "pairs":
        return "a [method, path] pair"
    return f"an object with {listing.method!r} and {listing.path!r}"


def openapi_routes(document: Any, source: OpenApiSource, where: str) -> list[str]:
    """``paths`` x operations of an OpenAPI (or Swagger 2) document."""
    paths = document.get("paths") if isinstance(document, dict) else None
    if not isinstance(paths, dict):
        raise RouteSourceError(
            f"{where} has no paths: mapping: not an OpenAPI document",
            hint="Point checks.coverage.openapi at the API's OpenAPI document",
        )
    routes: list[str] = []
    for path, item in paths.items():
        if not isinstance(item, dict) or not str(path).startswith("/"):
            continue  # extensions (x-...) and malformed entries carry no operation
        route = source.base_path + str(path)
        routes += [f"{m.upper()} {route}" for m in OPENAPI_METHODS if m in item]
    return routes


def _parse_document(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise RouteSourceError(
            f"{where} is neither JSON nor YAML ({str(exc).splitlines()[0]})",
            hint="Point checks.coverage.openapi at the API's OpenAPI document",
        ) from None


def read_routes(
    spec: CoverageChecks, catalog: Catalog, reference: BackendClient | None
) -> tuple[list[str], str]:
    """The routes the source lists, and how to name the source in a message.

    ``reference`` is the reference backend's client (None: it is not selected)."""
    if spec.openapi is not None and spec.openapi.file is not None:
        base = catalog.path.parent if catalog.path is not None else Path.cwd()
        document = base / spec.openapi.file
        where = str(document)
        try:
            text = document.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RouteSourceError(
                f"cannot read the OpenAPI document {document}: {exc.__class__.__name__}",
                hint="Fix checks.coverage.openapi.file (relative to the catalog file)",
            ) from None
        return openapi_routes(_parse_document(text, where), spec.openapi, where), where
    if reference is None:
        raise RouteSourceUnavailable(
            f"{spec.reference} is not selected: nothing lists the routes to cover",
            hint=f"Run with --backend both or {spec.reference}",
        )
    if spec.openapi is not None:
        assert spec.openapi.url is not None
        method, path, role = "GET", spec.openapi.url, "anonymous"
    else:
        assert spec.listing is not None
        method, path, role = _method_path(spec.listing, catalog)
    where = f"{spec.reference} {method} {path}"
    response = reference.request(method, path, role)
    if not 200 <= response.status_code < 300:
        raise RouteSourceUnavailable(
            f"{spec.reference} answers {response.status_code} to {method} {path} "
            "(production, or no such hook)",
            hint="Declare an OpenAPI file as checks.coverage.openapi.file to cover it there",
        )
    if spec.openapi is not None:
        return openapi_routes(_parse_document(response.text, where), spec.openapi, where), where
    assert spec.listing is not None
    try:
        body = response.json()
    except ValueError:
        raise RouteSourceError(
            f"{where} did not answer JSON ({response.headers.get('content-type')})",
            hint="checks.coverage.listing must be an endpoint answering a JSON route list",
        ) from None
    return listing_routes(body, spec.listing, where), where
