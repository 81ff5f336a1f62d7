"""HAR import: turn a HAR 1.2 file (as Playwright's ``record_har`` writes it) into a cassette.

Each entry is mapped to a catalog endpoint by method and path: the concrete path
``/api/items/3f2a...`` matches the template ``/api/items/{itemId}``; where two templates
match (``/api/items/stats`` and ``/api/items/{itemId}``) the one with more literal segments
wins, as in any router. Entries that match no endpoint (the web app's own assets,
``/config.json``, presigned S3 PUTs) are counted per ``METHOD path`` and reported, never
silently dropped. ``origin`` restricts the import to one backend's base URL when a
recording holds calls to several.

The HAR is one JSON document, so it is parsed whole (HAR files are bounded by a browser
session); the cassette is written streaming like any other, redacted on the way.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from parity.core.catalog import ROUTE_PARAM, Catalog, Endpoint
from parity.core.errors import CassetteError
from parity.core.inputs import parse_json, read_text
from parity.engine.cassette import CassetteWriter, Recorded

__all__ = ["HarReport", "RouteMatcher", "import_har"]


class RouteMatcher:
    """Finds the catalog endpoint serving a concrete ``METHOD /path``."""

    def __init__(self, catalog: Catalog) -> None:
        self._routes: list[tuple[int, re.Pattern[str], Endpoint]] = []
        for endpoint in catalog.endpoints:
            pattern = "".join(
                "[^/]+" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]*\})", endpoint.route)
                if part
            )
            literal = len(ROUTE_PARAM.sub("", endpoint.route).replace("/", ""))
            self._routes.append((literal, re.compile(pattern.rstrip("/") + "/?"), endpoint))
        # most literal characters first: /api/mocs/stats before /api/mocs/{mocId}
        self._routes.sort(key=lambda r: -r[0])

    def match(self, method: str, path: str) -> Endpoint | None:
        path = unquote(path) or "/"
        for _, pattern, endpoint in self._routes:
            if endpoint.method == method.upper() and pattern.fullmatch(path):
                return endpoint
        return None


@dataclass
class HarReport:
    path: Path
    entries: int = 0
    written: int = 0
    unmatched: Counter[str] = field(default_factory=Counter)  # "GET /config.json": count
    other_origin: int = 0


def _fail(path: Path, problem: str, location: str | None = None) -> CassetteError:
    return CassetteError(
        problem,
        path=path,
        location=location,
        hint="Give a HAR 1.2 file (e.g. one Playwright wrote with record_har_path)",
    )


def _load(path: Path) -> list[Any]:
    hint = "Give a HAR 1.2 file (e.g. one Playwright wrote with record_har_path)"
    text = read_text(path, "har", CassetteError, hint=f"Check --har; {hint[0].lower()}{hint[1:]}")
    doc = parse_json(text, path, CassetteError, hint=hint)
    log = doc.get("log") if isinstance(doc, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise _fail(path, "no log.entries list: this is not a HAR file", "log.entries")
    return entries


def _headers(items: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        if isinstance(item, dict) and "name" in item:
            name = str(item["name"]).lower()
            value = str(item.get("value", ""))
            out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _body(content: dict[str, Any]) -> tuple[Any, str | None]:
    """(parsed JSON, None) or (None, text) of a HAR ``content``/``postData`` object."""
    text = content.get("text")
    if text is None:
        return None, ""
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, f"[binary, {content.get('size', '?')} bytes]"
    try:
        return json.loads(text), None
    except (ValueError, RecursionError):
        return None, str(text)


def _entry(path: Path, index: int, entry: Any) -> tuple[str, str, str, dict[str, Any]]:
    """Check the parts of an entry this import uses; other keys are ignored (HAR files come
    from browsers and proxies that add their own, e.g. ``_resourceType``)."""
    where = f"log.entries[{index}]"
    if not isinstance(entry, dict):
        raise _fail(path, "an entry must be an object", where)
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise _fail(path, "an entry needs a request and a response object", where)
    method, url, status = request.get("method"), request.get("url"), response.get("status")
    if (
        not isinstance(method, str)
        or not isinstance(url, str)
        or isinstance(status, bool)
        or not isinstance(status, int)
    ):
        raise _fail(path, "request.method, request.url and response.status are required", where)
    for part, key, types, what in _SHAPES:
        value = entry if part is None else entry[part]
        got = value.get(key)
        if got is not None and (not isinstance(got, types) or isinstance(got, bool)):
            name = f"{part}.{key}" if part else key
            raise _fail(path, f"{name} must be {what}", f"{where}.{name}")
    for part, key in (("request", "postData"), ("response", "content")):
        body = entry[part].get(key) or {}
        if body.get("text") is not None and not isinstance(body["text"], str):
            raise _fail(path, f"{part}.{key}.text must be text", f"{where}.{part}.{key}.text")
    return method.upper(), url, where, entry


#: (part, key, types, description) of the optional parts of an entry that are used.
_SHAPES: tuple[tuple[str | None, str, type | tuple[type, ...], str], ...] = (
    ("request", "headers", list, "a list of {name, value} objects"),
    ("response", "headers", list, "a list of {name, value} objects"),
    ("request", "postData", dict, "an object"),
    ("response", "content", dict, "an object"),
    (None, "time", (int, float), "a number of milliseconds"),
)


def import_har(
    har: Path,
    catalog: Catalog,
    out: Path,
    *,
    backend: str = "express",
    origin: str | None = None,
    secrets: tuple[str, ...] = (),
) -> HarReport:
    """Write the entries of ``har`` that match a catalog endpoint to the cassette ``out``.

    Raises :class:`~parity.core.errors.CassetteError` (naming the file and the entry or line)
    when the file is not a readable HAR.
    """
    har = Path(har)
    entries = _load(har)
    matcher = RouteMatcher(catalog)
    want = urlsplit(origin) if origin else None
    report = HarReport(path=Path(out), entries=len(entries))
    with CassetteWriter(Path(out), secrets=secrets) as writer:
        for index, raw in enumerate(entries):
            method, url, _, entry = _entry(har, index, raw)
            parts = urlsplit(url)
            if want is not None and (parts.scheme, parts.netloc) != (want.scheme, want.netloc):
                report.other_origin += 1
                continue
            endpoint = matcher.match(method, parts.path)
            if endpoint is None:
                report.unmatched[f"{method} {parts.path or '/'}"] += 1
                continue
            status = int(entry["response"]["status"])
            if status == 0:  # aborted in the browser: no answer to record
                report.unmatched[f"{method} {parts.path} (no response)"] += 1
                continue
            body_json, text = _body(entry["response"].get("content") or {})
            request_json, request_text = _body(entry["request"].get("postData") or {})
            request_body: Any = None
            if request_json is not None:
                request_body = {"json": request_json}
            elif request_text:
                request_body = {"text": request_text}
            writer.write(
                Recorded(
                    backend=backend,
                    method=method,
                    route=endpoint.route,
                    status=status,
                    url=url,
                    endpoint=endpoint.id,
                    scenario="har",
                    source=f"har:{har.name}",
                    request={
                        "headers": _headers(entry["request"].get("headers")),
                        "body": request_body,
                    },
                    response={
                        "headers": _headers(entry["response"].get("headers")),
                        "json": body_json,
                        "text": text,
                    },
                    elapsed_ms=float(entry.get("time") or 0.0),
                )
            )
            report.written += 1
    return report
