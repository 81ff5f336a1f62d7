"""What is compared, and in which spelling: the headers that matter, their normal form, and
the JSON path patterns of declared rules (catalog ``noise:``) and learned noise.

Two answers can say the same thing in different spellings: ``application/json`` and
``application/json; charset=utf-8`` (JSON is UTF-8 by definition, RFC 8259),
``Vary: Origin`` and ``vary: origin``, ``Authorization,Content-Type`` and
``authorization,content-type`` (API Gateway lower-cases the CORS header list). Those are
normalised away before diffing; anything else that differs is a finding.

Paths are lists of keys and indexes (``["data", "items", 0, "id"]``), printed as
``data.items[0].id`` (the catalog's dialect, :mod:`parity.jsonpath`); ``$`` is the root.
A pattern may use ``[*]`` for any index and ``*`` for any key, and covers what lies below
the path it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from parity import jsonpath

__all__ = [
    "COMPARED_HEADERS",
    "NoiseKind",
    "PathPattern",
    "Rules",
    "classify_noise",
    "format_path",
    "normalize_header",
    "relevant_headers",
]

#: Response headers the differential check compares (lower case). Others (ETag,
#: X-Powered-By, request ids, Date) differ by nature between two servers.
COMPARED_HEADERS: tuple[str, ...] = (
    "content-type",
    "cache-control",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "vary",
)

# Headers whose value is a comma-separated list of case-insensitive tokens: order and
# case carry no meaning.
_TOKEN_LISTS = frozenset(
    {
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "vary",
    }
)
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")

Part = str | int


def _media_type(value: str) -> str:
    media, *params = [p.strip() for p in value.split(";")]
    media = media.lower()
    kept = []
    for param in params:
        name, _, val = param.partition("=")
        name, val = name.strip().lower(), val.strip().strip('"')
        # charset=utf-8 on JSON is the default spelled out: same meaning either way.
        if name == "charset" and _JSON_MEDIA.match(media) and val.lower() in ("utf-8", "utf8"):
            continue
        kept.append(f"{name}={val.lower() if name == 'charset' else val}")
    return "; ".join([media, *sorted(kept)])


def normalize_header(name: str, value: str) -> str:
    """``value`` of header ``name`` in a spelling that compares equal when it means the same."""
    name = name.lower()
    value = value.strip()
    if name == "content-type":
        return _media_type(value)
    if name == "cache-control":
        directives = {d.strip().lower().replace(" ", "") for d in value.split(",") if d.strip()}
        return ", ".join(sorted(directives))
    if name in _TOKEN_LISTS:
        return ",".join(sorted({t.strip().lower() for t in value.split(",") if t.strip()}))
    if name == "access-control-allow-origin":
        return value.lower().rstrip("/")
    if name == "access-control-allow-credentials":
        return value.lower()
    return value


def relevant_headers(headers: Mapping[str, str], *, cors: bool = True) -> dict[str, str]:
    """The :data:`COMPARED_HEADERS` present in ``headers``, normalised, names lower case.

    ``cors=False`` (the request carried no ``Origin``): the CORS headers and the ``origin``
    token of ``Vary`` are left out. A browser sends ``Origin`` with every cross-origin
    request, so what a server answers without one is nothing the frontend ever sees (and
    Express' ``cors()`` and API Gateway differ there by design).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    out = {n: normalize_header(n, lowered[n]) for n in COMPARED_HEADERS if n in lowered}
    if not cors:
        out = {n: v for n, v in out.items() if not n.startswith("access-control-")}
        if "vary" in out:
            tokens = [t for t in out["vary"].split(",") if t and t != "origin"]
            out["vary"] = ",".join(tokens)
            if not tokens:
                del out["vary"]
    return out


def format_path(parts: Sequence[Part]) -> str:
    """``["data", "items", 0, "id"]`` -> ``data.items[0].id``; ``[]`` -> ``$``."""
    out = ""
    for part in parts:
        if isinstance(part, int) or (part == "*" and out):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "$"


@dataclass(frozen=True)
class PathPattern:
    """A path with ``*`` wildcards; matches the path itself and everything below it."""

    text: str
    parts: tuple[Part, ...]

    @classmethod
    def parse(cls, text: str) -> PathPattern:
        if text in ("$", ""):
            return cls("$", ())
        return cls(text, tuple(jsonpath.parse(text)))

    def covers(self, path: Sequence[Part]) -> bool:
        """True when ``path`` is this pattern's path or lies below it."""
        if len(path) < len(self.parts):
            return False
        return all(p == "*" or _same(p, q) for p, q in zip(self.parts, path, strict=False))

    def names(self, path: Sequence[Part]) -> bool:
        """True when ``path`` is exactly this pattern's path (not below it)."""
        return len(path) == len(self.parts) and self.covers(path)


def _same(pattern: Part, part: Part) -> bool:
    # "items.0" in a catalog is the index 0 too.
    return pattern == part or str(pattern) == str(part)


@dataclass(frozen=True)
class Rules:
    """Declared rules of one endpoint (catalog ``noise:``).

    ``ignore``: values differ by nature (ids and timestamps of resources created per
    backend); their presence and type are still compared. ``unordered``: lists compared
    as multisets.
    """

    ignore: tuple[PathPattern, ...] = ()
    unordered: tuple[PathPattern, ...] = ()

    @classmethod
    def from_lists(cls, ignore: Iterable[str] = (), unordered: Iterable[str] = ()) -> Rules:
        return cls(
            tuple(PathPattern.parse(p) for p in ignore),
            tuple(PathPattern.parse(p) for p in unordered),
        )

    def ignores(self, path: Sequence[Part]) -> PathPattern | None:
        return next((p for p in self.ignore if p.covers(path)), None)

    def is_unordered(self, path: Sequence[Part]) -> bool:
        return any(p.names(path) for p in self.unordered)


NoiseKind = Literal["timestamp", "request-id", "id", "other"]

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_TOKEN = re.compile(r"^[A-Za-z0-9+/=_-]{8,64}$")
_TIME_NAMES = re.compile(r"(at|time|timestamp|date|uptime|epoch)$", re.IGNORECASE)
_REQUEST_ID_NAMES = re.compile(r"(request|trace|correlation)[-_]?id$", re.IGNORECASE)
_ID_NAMES = re.compile(r"(^id|Id|_id)$")


def classify_noise(path: Sequence[Part], values: Iterable[Any]) -> NoiseKind:
    """What a noise path most likely is, so a reader can tell expected noise (timestamps,
    request ids) from ids of resources created per run (which belong in a declared rule)
    and from noise that hides a real instability (``other``)."""
    vals = [v for v in values if v is not None]
    name = next((str(p) for p in reversed(path) if isinstance(p, str) and p != "*"), "")
    if vals and all(isinstance(v, str) and _ISO_TIME.match(v) for v in vals):
        return "timestamp"
    if _TIME_NAMES.search(name) and all(isinstance(v, int | float | str) for v in vals):
        return "timestamp"
    if _REQUEST_ID_NAMES.search(name) and all(isinstance(v, str) and _TOKEN.match(v) for v in vals):
        return "request-id"
    if vals and all(isinstance(v, str) and _UUID.match(v) for v in vals):
        return "id"
    if _ID_NAMES.search(name) and all(isinstance(v, str | int) for v in vals):
        return "id"
    return "other"
