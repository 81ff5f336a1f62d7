"""What is compared, and in which spelling: the headers that matter, their normal form, and
the JSON path patterns of declared rules (catalog ``noise:``) and learned noise.

Two answers can say the same thing in different spellings: ``application/json`` and
``application/json; charset=utf-8`` (JSON is UTF-8 by definition, RFC 8259),
``Vary: Origin`` and ``vary: origin``, ``Authorization,Content-Type`` and
``authorization,content-type`` (API Gateway lower-cases the CORS header list). Those are
normalised away before diffing; anything else that differs is a finding.

Paths are lists of keys and indexes (``["data", "items", 0, "id"]``), printed as
``data.items[0].id`` (the catalog's dialect, :mod:`parity.core.jsonpath`); ``$`` is the root.
A pattern may use ``[*]`` for any index and ``*`` for any key, and covers what lies below
the path it names.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from parity.core import jsonpath

__all__ = [
    "COMPARED_HEADERS",
    "DATE_HEADERS",
    "HeaderRules",
    "NoiseKind",
    "PathPattern",
    "Rules",
    "classify_noise",
    "cookie_shape",
    "format_path",
    "header_format",
    "normalize_header",
    "relevant_headers",
    "spelling_differences",
    "value_format",
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

#: Headers whose value is a date that differs by nature from answer to answer: compared
#: by format (``checks.headers.by_format``), never by value.
DATE_HEADERS: frozenset[str] = frozenset({"last-modified", "expires", "date", "retry-after"})


@dataclass(frozen=True)
class HeaderRules:
    """The catalog's ``checks.headers`` as the comparison applies it (lower-case names):
    ``compare`` more headers by value (``set-cookie`` by shape), ``by_format`` more by
    presence and format, ``spelling``: True (every header) or the headers whose spelling
    differences are breaking differences instead of cosmetic notes;
    ``cors_without_origin``: CORS headers compared on answers to requests without Origin."""

    compare: tuple[str, ...] = ()
    by_format: tuple[str, ...] = ()
    spelling: bool | frozenset[str] = False
    cors_without_origin: bool = False

    def spelling_matters(self, name: str) -> bool:
        if isinstance(self.spelling, bool):
            return self.spelling
        return name.lower() in self.spelling


_NO_RULES = HeaderRules()

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


# Set-Cookie lines joined by ", " (one header per cookie, merged by the HTTP client):
# split before a "name=" (an Expires date's comma is followed by the day, not a name).
_COOKIE_SPLIT = re.compile(r",\s*(?=[^;,=\s]+=)")
_IMF_DATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (?P<zone>.+)$"
)


def cookie_shape(value: str) -> str:
    """What a ``Set-Cookie`` header says, without a single value: each cookie's name and
    its attributes' names (``sid (httponly, path, secure)``), sorted. A cookie's value is a
    session's secret: it is never kept, compared or printed."""
    shapes = set()
    for line in _COOKIE_SPLIT.split(value):
        first, *attrs = [p.strip() for p in line.split(";")]
        name = first.partition("=")[0].strip()
        if not name:
            continue
        names = sorted({a.partition("=")[0].strip().lower() for a in attrs if a.strip()})
        shapes.add(f"{name} ({', '.join(names)})" if names else name)
    return "; ".join(sorted(shapes))


def header_format(value: str) -> str:
    """How a volatile header's value is written (its value is not compared): ``HTTP-date
    (GMT)`` (RFC 9110's IMF-fixdate), ``date with zone -0000``, a number, or the body
    formats of :func:`value_format`; ``text`` otherwise."""
    text = value.strip()
    imf = _IMF_DATE.match(text)
    if imf:
        zone = imf.group("zone")
        return "HTTP-date (GMT)" if zone == "GMT" else f"date with zone {zone}"
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return "number"
    return value_format(text) or ("empty" if not text else "text")


def relevant_headers(
    headers: Mapping[str, str], *, cors: bool = True, rules: HeaderRules | None = None
) -> dict[str, str]:
    """The :data:`COMPARED_HEADERS` present in ``headers``, normalised, names lower case;
    with ``rules`` (the catalog's ``checks.headers``) those it names too: ``compare`` by
    value (``set-cookie`` by :func:`cookie_shape`), ``by_format`` by :func:`header_format`.

    ``cors=False`` (the request carried no ``Origin``): the CORS headers and the ``origin``
    token of ``Vary`` are left out. A browser sends ``Origin`` with every cross-origin
    request, so what a server answers without one is nothing the frontend ever sees (and
    Express' ``cors()`` and API Gateway differ there by design).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    out = {n: normalize_header(n, lowered[n]) for n in COMPARED_HEADERS if n in lowered}
    rules = rules or _NO_RULES
    for n in rules.compare:
        if n in lowered:
            out[n] = (
                cookie_shape(lowered[n]) if n == "set-cookie" else normalize_header(n, lowered[n])
            )
    for n in rules.by_format:
        if n in lowered:
            out[n] = header_format(lowered[n])
    if not cors:
        out = {n: v for n, v in out.items() if not n.startswith("access-control-")}
        if "vary" in out:
            tokens = [t for t in out["vary"].split(",") if t and t != "origin"]
            out["vary"] = ",".join(tokens)
            if not tokens:
                del out["vary"]
    return out


def spelling_differences(
    expected: Mapping[str, str],
    actual: Mapping[str, str],
    *,
    cors: bool = True,
    rules: HeaderRules | None = None,
) -> list[tuple[str, str, str]]:
    """The compared headers whose raw values differ while their normal forms agree, as
    ``(name, expected raw, actual raw)``: same meaning, other spelling. Reported (as cosmetic
    findings), never dropped. Headers compared by format or shape (``set-cookie``: its
    values are secrets) have no spelling: their values are meant to differ."""
    raw_e = {k.lower(): v.strip() for k, v in expected.items()}
    raw_a = {k.lower(): v.strip() for k, v in actual.items()}
    norm_e = relevant_headers(expected, cors=cors, rules=rules)
    norm_a = relevant_headers(actual, cors=cors, rules=rules)
    shaped = {"set-cookie", *(rules.by_format if rules else ())}
    out = []
    for name in sorted((set(norm_e) & set(norm_a)) - shaped):
        if norm_e[name] == norm_a[name] and raw_e.get(name) != raw_a.get(name):
            out.append((name, raw_e.get(name, ""), raw_a.get(name, "")))
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


#: ``spelling``: a header whose two values differ only in spelling (normalised, reported).
NoiseKind = Literal["timestamp", "request-id", "id", "spelling", "other"]

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


# --- formats: how a value is written, whatever its value ---------------------------------
# A value that differs by nature (noise: learned or declared) is not compared; its format
# is, so a timestamp that turns from ISO 8601 into epoch text, an id from a UUID into a
# number, a URL onto another host or a token from a JWT into an opaque string is seen.

_ISO_PARTS = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:(?P<sep>[T ])\d{2}:\d{2}(?::\d{2}(?:\.(?P<frac>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?$"
)
_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01
_OPAQUE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{8,}$")
_JWT = re.compile(r"^[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*$")
_ID_TEXT = re.compile(r"^[A-Za-z0-9_-]{4,}$")


def _precision(frac: str | None) -> str:
    if frac is None:
        return "seconds"
    return {3: "ms", 6: "µs", 9: "ns"}.get(len(frac), f"{len(frac)} fraction digits")


def _zone(zone: str | None) -> str:
    if zone is None:
        return "no zone"
    if zone == "Z":
        return "Z"
    return "+hh:mm" if ":" in zone else "+hhmm"


def _epoch(number: float) -> str | None:
    low, high = _EPOCH_S
    if low <= number < high:
        return "epoch seconds"
    if low * 1000 <= number < high * 1000:
        return "epoch ms"
    return None


def _b64json(segment: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (ValueError, binascii.Error):
        return None


def value_format(value: Any, name: str = "", *, hosts: bool = True) -> str | None:
    """How ``value`` is written: ``ISO 8601 (ms, Z)``, ``epoch ms``, ``uuid``,
    ``integer as text``, ``URL https://host``, ``JWT (RS256; claims exp, sub)``, ``opaque
    id (24 chars)`` (under an id's name, ``id``, ``userId``, ``post_id``, any token of 4 or
    more), ``number``; None for free text and other values (nothing to compare).
    ``name`` is the field's name (an integer is an epoch only under a time-like name);
    ``hosts=False`` leaves a URL's host out (a recording made against another host)."""
    timed = bool(_TIME_NAMES.search(name))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return (_epoch(value) if timed else None) or "number"
    if not isinstance(value, str):
        return None
    text = value.strip()
    iso = _ISO_PARTS.match(text)
    if iso:
        if iso.group("sep") is None:
            return "ISO 8601 date"
        sep = "" if iso.group("sep") == "T" else ", space"
        return f"ISO 8601 ({_precision(iso.group('frac'))}, {_zone(iso.group('zone'))}{sep})"
    if text.isdigit():
        epoch = _epoch(int(text)) if timed else None
        return f"{epoch} as text" if epoch else "integer as text"
    if _UUID.match(text):
        return "uuid"  # its version says how it was made, not how it is written
    if "://" in text:
        try:
            parts = urlsplit(text)
        except ValueError:
            return None
        if parts.scheme and parts.netloc:
            host = (parts.hostname or "").lower()
            return f"URL {parts.scheme.lower()}://{host}" if hosts else f"URL {parts.scheme}"
    if _JWT.match(text):
        head, body = (_b64json(s) for s in text.split(".")[:2])
        if isinstance(head, dict) and isinstance(body, dict):
            claims = ", ".join(sorted(str(k) for k in body))
            return f"JWT ({head.get('alg', '?')}; claims {claims})"
    # Under an id's name, a short generated id (a 7-character nanoid) is one too.
    if _OPAQUE.match(text) or (_ID_NAMES.search(name) and _ID_TEXT.match(text)):
        return f"opaque id ({len(text)} chars)"
    return None
