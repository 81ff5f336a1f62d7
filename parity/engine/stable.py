"""The stable form of a recorded exchange: what differs from one capture of an unchanged
backend to the next is normalised or replaced by a surrogate, so that recording again
leaves a committed cassette byte for byte as it was (and a diff in git is a change of the
API, not of the clock).

:class:`CassetteWriter` applies a :class:`Stabiliser` *after* the redaction, so a
surrogate never sees a secret and a redaction placeholder is never taken for a value.

Normalised, because it is volatile by nature:

- ``elapsed_ms`` is left out (a reader takes 0), the ``user-agent`` request header (the
  HTTP client's version) is dropped;
- HTTP dates (``Date``, also ``Last-Modified`` and ``Expires``: second precision, so two
  answers share one by chance) become one fixed date, ``Sat, 01 Jan 2000 00:00:00 GMT``
  (older ones are history, see below);
- a multipart ``boundary`` and request-id headers (``X-Request-Id``, ``apigw-requestid``,
  any ``...request-id`` / ``trace-id`` / ``correlation-id``, the names the differential
  noise classes call request ids) get token surrogates;
- a changed body's ``Content-Length`` follows the surrogates' lengths, and an Express
  ETag (``W/"<length>-<sha1>"``) is recomputed from the body as recorded.

Mapped to surrogates of the same format, because each run creates them: in every string
(URLs, paths, headers, bodies, texts, object keys), the same value to the same surrogate,
everywhere in the file for ids and ports (an id saved from an answer and sent in a later
request keeps matching), within a record for times and unique values (see below):

- UUIDs (version, variant and letter case kept): ``00000000-3fa9-4c1b-8d2e-9a0b1c2d3e4f``;
  name-based ones (v3, v5) are deterministic and kept;
- ISO 8601 date-times, extended (``2026-12-04T01:49:02.119Z``) and basic (S3's
  ``X-Amz-Date=20261204T014902Z``): a time in 2000-2009 in the same layout (separator,
  fraction digits as zeros, zone designator): ``2003-05-17T08:12:44.000Z``;
- numbers under a key that names a time (``uptime``, ``createdAt``, ``expiresAt``,
  ``timestamp``, ``elapsed``...): same type and sign, an epoch's digit count kept
  (``1733280000`` -> ``1412345678``); a duration's digits and a float's decimals change
  from run to run by themselves (9.5 s, then 10.25 s), so they are not kept;
- ports of loopback hosts, numbered (``127.0.0.1:35779`` -> ``127.0.0.1:10001``);
- the run id in the suite's own tags: ``parity <run id>``, ``parity-<run id>-`` and a
  ``{unique}`` value ``p<run id>xxxx`` carry :data:`RUN_ID` (``00000000``) instead, so
  :func:`parity.engine.cleanup.run_marker` still recognises them (and so does a run id of six
  characters or more standing alone), with the four hex digits of a unique value mapped.

A surrogate is made from where its value first appears (the record's endpoint and
scenario, and how many volatile values came before it in that record, walking the record
in the order the backend sent it), not from a count over the file, so a scenario added to
the catalog changes its own record (and the surrogates of values it is the first to
show), not every record after it. Times (and the random digits of unique values) are
often equal by chance across records (resources of two scenarios created within one
second); ids are not. Mapped per record, such a tie cannot make one run's file differ
from the next; the price is that one time seen in two records has two surrogates. A tie
within one record still shows (millisecond times make it rare). Distinct values always get
distinct surrogates.

Values the catalog spells out (an unknown id ``00000000-0000-4000-8000-000000000000``,
an allowed origin ``http://localhost:3002``) are the request's, not the run's: kept as
they are. With ``since`` (a capture gives the day before it started), a time before it is
the data's own history (a seeded ``createdAt`` of 2024, an object's ``Last-Modified``):
kept too, so seeds read as they are and sort as they do. Surrogates keep neither the
order nor the distance of the originals. Memory grows with the number of distinct
volatile values, not with the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parity.core.catalog import Catalog

__all__ = ["HTTP_DATE", "RUN_ID", "Stabiliser", "catalog_literals"]

#: The run id every tag carries in a stable cassette.
RUN_ID = "00000000"
#: The one date every HTTP date becomes.
HTTP_DATE = "Sat, 01 Jan 2000 00:00:00 GMT"
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_TEN_YEARS = 3652 * 86400  # seconds: surrogate times fall in 2000-2009
_PER_RECORD = frozenset({"time", "int", "float", "unique"})
#: An epoch's digits -> units a second: seconds, milliseconds, micro- and nanoseconds.
_EPOCH_DIGITS = {10: 1, 13: 1_000, 16: 1_000_000, 19: 1_000_000_000}

_DROPPED_REQUEST_HEADERS = frozenset({"user-agent"})
_REQUEST_ID_HEADER = re.compile(r"(?:request|trace|correlation)[-_]?id$", re.IGNORECASE)
_BOUNDARY = re.compile(r"(?i)(;\s*boundary=)(\"?)([^\";\s]+)")
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_EXPRESS_ETAG = re.compile(r'^(W/)?"([0-9a-f]+)-([A-Za-z0-9+/]{27})"$')
# createdAt, expires_at, uptime, timestamp, elapsedMs: a number there is a time
_TIME_KEY = re.compile(
    r"[a-z0-9]At$|_at$"
    r"|(?i:(?:time|timestamp|epoch|elapsed|duration)(?:_?(?:ms|millis|secs?|seconds))?$)"
)

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# One scanner for every kind; alternatives are tried left to right at each position.
_VALUES = (
    r"(?P<uuid>(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-(?P<ver>[0-9A-Fa-f])[0-9A-Fa-f]{3}"
    r"-(?P<var>[0-9A-Fa-f])[0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f-]))"
    r"|(?P<iso>(?<![\d.:-])\d{4}-\d{2}-\d{2}(?P<sep>[Tt ])\d{2}:\d{2}"
    r"(?P<secs>:\d{2}(?P<frac>\.\d+)?)?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?(?![\d:.]))"
    r"|(?P<basic>(?<![0-9A-Za-z])\d{8}T\d{6}(?P<bfrac>\.\d+)?Z(?![0-9A-Za-z]))"
    rf"|(?P<http>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{{2}} (?:{_MONTHS}) \d{{4}} "
    r"\d{2}:\d{2}:\d{2} GMT)"
    r"|(?P<authority>(?<![\w.-])(?P<host>localhost|127\.0\.0\.1|\[::1\]|0\.0\.0\.0)"
    r":(?P<port>\d{1,5})(?!\d))"
)


def _tags(run_id: str) -> str:
    # the shapes parity.engine.cleanup.run_marker recognises, a title also URL-encoded in a query
    rid = re.escape(run_id)
    return (
        rf"(?P<title>(?<![\w-])parity(?P<tsep> |%20|\+){rid}(?![\w-]))"
        rf"|(?P<file>(?<![\w-])parity-{rid}-)"
        rf"|(?P<unique>p{rid}(?P<uhex>[0-9a-f]{{4}})(?![0-9a-f]))"
    )


def _scanner(run_id: str | None) -> re.Pattern[str]:
    if not run_id:
        return re.compile(_VALUES)
    # A run id of 6 characters or more (8 hex digits by default) is the run's wherever it
    # stands alone (a slug "moc-<run id>"); a shorter one could be a word.
    bare = rf"|(?P<bare>(?<![0-9A-Za-z]){re.escape(run_id)}(?![0-9A-Za-z]))"
    return re.compile(f"{_tags(run_id)}|{_VALUES}{bare if len(run_id) >= 6 else ''}")


def catalog_literals(catalog: Catalog) -> frozenset[str]:
    """Every value of a kind the stabiliser maps that ``catalog`` spells out literally."""
    scanner = _scanner(None)
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.update(m.group(0) for m in scanner.finditer(value))
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(catalog.model_dump(mode="json", by_alias=True))
    return frozenset(found)


class Stabiliser:
    """Turns redacted record dicts (:meth:`parity.engine.cassette.Recorded.to_dict`) into their
    stable form; one instance per cassette file, fed the records in file order."""

    def __init__(
        self,
        *,
        run_id: str | None = None,
        keep: Iterable[str] = (),
        since: datetime | None = None,
    ) -> None:
        self._run_id = run_id or None
        self._since = since
        self._scanner = _scanner(self._run_id)
        self._keep = frozenset(keep)
        self._maps: dict[str, dict[str, str]] = {}
        self._used: dict[str, set[str]] = {}
        self._ports: dict[int, int] = {}  # digits: ports numbered so far
        # where the value being mapped is: the record's label and the occurrence in it
        self._labels: dict[str, int] = {}
        self._label = ""
        self._occurrence = 0
        # length change and whether anything changed in the body being walked
        self._delta = 0
        self._changed = False

    @classmethod
    def for_catalog(
        cls, catalog: Catalog, run_id: str | None, since: datetime | None = None
    ) -> Stabiliser:
        return cls(run_id=run_id, keep=catalog_literals(catalog), since=since)

    def _history(self, when: datetime | None) -> bool:
        """Whether ``when`` is before ``since``: the data's own, the same in every run."""
        if self._since is None or when is None:
            return False
        return (when if when.tzinfo else when.replace(tzinfo=UTC)) < self._since

    # --- records ------------------------------------------------------------------------

    def record(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The stable form of one record (``data`` is not changed)."""
        out = dict(data)
        out.pop("elapsed_ms", None)
        label = (
            f"{data.get('endpoint')}/{data.get('scenario')}"
            if data.get("endpoint") and data.get("scenario")
            else f"{data.get('method')} {data.get('route')}"
        )
        seen = self._labels[label] = self._labels.get(label, 0) + 1
        self._label, self._occurrence = (label if seen == 1 else f"{label}#{seen}"), 0
        if isinstance(out.get("url"), str):
            out["url"] = self.text(out["url"])
        if isinstance(out.get("request"), Mapping):
            out["request"] = self._request(out["request"])
        if isinstance(out.get("response"), Mapping):
            out["response"] = self._response(out["response"])
        return out

    def _request(self, part: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(part)
        self._begin()
        if "body" in out:
            out["body"] = self.value(out["body"])
        if isinstance(out.get("headers"), Mapping):
            out["headers"] = self._headers(out["headers"], request=True, body=None)
        return out

    def _response(self, part: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(part)
        self._begin()
        for key in ("json", "text"):
            if key in out:
                out[key] = self.value(out[key])
        if isinstance(out.get("headers"), Mapping):
            body = out.get("json") if out.get("text") is None else out.get("text")
            out["headers"] = self._headers(out["headers"], request=False, body=body)
        return out

    def _begin(self) -> None:
        self._delta, self._changed = 0, False

    def _headers(self, headers: Mapping[str, Any], *, request: bool, body: Any) -> dict[str, Any]:
        delta, changed = self._delta, self._changed  # of the body, walked before
        lowered = {str(k).lower() for k in headers}
        out: dict[str, Any] = {}
        for key, value in headers.items():
            name = str(key).lower()
            if request and name in _DROPPED_REQUEST_HEADERS:
                continue
            if not isinstance(value, str):
                out[key] = value
            elif name == "content-length" and delta and value.isdigit():
                # bytes on the wire: only a plain body's length follows the surrogates
                out[key] = value if "content-encoding" in lowered else str(int(value) + delta)
            elif name == "etag" and changed:
                out[key] = self._etag(value, body, delta)
            elif name == "content-type" and "boundary=" in value.lower():
                out[key] = _BOUNDARY.sub(
                    lambda m: m.group(1) + m.group(2) + self._token(m.group(3)), value
                )
            else:
                scanned = self._scanner.search(value) is not None
                if not scanned and value and _REQUEST_ID_HEADER.search(name):
                    out[key] = self._token(value)  # an id of no known format
                else:
                    out[key] = self.text(value)
        return out

    def _etag(self, etag: str, body: Any, delta: int) -> str:
        m = _EXPRESS_ETAG.match(etag)
        if m is None:
            return self._token(etag)
        # Express' etag package: weak, body length in hex, base64 SHA-1 cut to 27
        raw = body if isinstance(body, str) else _canonical(body)
        digest = base64.b64encode(hashlib.sha1(raw.encode("utf-8")).digest()).decode()[:27]
        return f'{m.group(1) or ""}"{max(int(m.group(2), 16) + delta, 0):x}-{digest}"'

    # --- values -------------------------------------------------------------------------

    def value(self, value: Any, key: str | None = None) -> Any:
        """``value`` (a JSON value) with its volatile parts replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            if key is None or not _TIME_KEY.search(key):
                return value
            surrogate = self._number(value)
            if surrogate != value:
                self._delta += len(json.dumps(surrogate)) - len(json.dumps(value))
                self._changed = True
            return surrogate
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, key) for v in value]
        return value

    def text(self, text: str) -> str:
        """``text`` with every volatile value in it replaced."""
        new = self._scanner.sub(self._replace, text)
        if new != text:
            # the replaced parts are ASCII: characters are bytes
            self._delta += len(new) - len(text)
            self._changed = True
        return new

    def _replace(self, m: re.Match[str]) -> str:
        found = m.group(0)
        if found in self._keep:
            return found
        if self._run_id is not None:
            if m.group("title") is not None:
                return f"parity{m.group('tsep')}{RUN_ID}"
            if m.group("file") is not None:
                return f"parity-{RUN_ID}-"
            if m.group("unique") is not None:
                hexed = self._map("unique", m.group("uhex"), lambda seed: f"{seed % 65536:04x}")
                return f"p{RUN_ID}{hexed}"
        if m.group("uuid") is not None:
            return self._uuid(found, m.group("ver"), m.group("var"))
        if m.group("iso") is not None:
            if self._history(_parse_iso(found)):
                return found
            return self._map("time", found, lambda seed: _iso(m, seed))
        if m.group("basic") is not None:
            if self._history(_parse(found[:15], "%Y%m%dT%H%M%S")):
                return found
            return self._map("time", found, lambda seed: _basic(m, seed))
        if m.group("http") is not None:
            return found if self._history(_http_date(found)) else HTTP_DATE
        if m.group("authority") is None:
            return RUN_ID  # the bare run id
        host, port = m.group("host"), m.group("port")
        return f"{host}:{self._map('port', port, lambda _: self._port(len(port)))}"

    def _port(self, digits: int) -> str:
        # numbered, not seeded: a reader tells the backend (the first) from the others
        self._ports[digits] = self._ports.get(digits, 0) + 1
        return str(10 ** (digits - 1) + self._ports[digits])

    def _uuid(self, found: str, version: str, variant: str) -> str:
        if version in "35" or found.strip("0-") == "" or found.lower().strip("f-") == "":
            return found  # name-based (deterministic by definition), nil or max
        upper = found.upper() == found and any(c in "ABCDEF" for c in found)
        variant = _variant(variant)

        def make(seed: int) -> str:
            h = f"{seed:032x}"
            made = f"00000000-{h[:4]}-{version}{h[4:7]}-{variant}{h[7:10]}-{h[10:22]}"
            return made.upper() if upper else made.lower()

        return self._map("uuid", found.lower(), make)

    def _token(self, token: str) -> str:
        # Decimal digits fit every token alphabet (hex, base64, base36) in either case;
        # only characters outside them (base64's "=" padding, ":" or ";") stay in place.
        slots = sum(1 for c in token if c in _TOKEN_ALPHABET)

        def make(seed: int) -> str:
            it = iter(str(seed).rjust(slots, "0")[-slots:] if slots else "")
            return "".join(next(it) if c in _TOKEN_ALPHABET else c for c in token)

        return self._map("token", token, make)

    def _number(self, value: int | float) -> int | float:
        # Kept: the type, the sign and an epoch's digit count (10 digits for seconds, 13
        # for milliseconds: the same for centuries). Not kept: a duration's digits or a
        # float's decimals, which change from one run to the next (uptime 9.5, then 10.25).
        if not math.isfinite(value):
            return value
        digits = len(str(int(abs(value))))
        if digits in _EPOCH_DIGITS and self._history(_epoch(abs(value), digits)):
            return value
        start = 10 ** (digits - 1) if digits >= 10 else 0
        span = 9 * start if start else 1000
        if isinstance(value, int):
            made = int(self._map("int", repr(value), lambda seed: str(start + seed % span)))
            return -made if value < 0 else made
        made_float = self._map("float", repr(value), lambda seed: str(start + seed % span + 0.5))
        return -float(made_float) if value < 0 else float(made_float)

    def _map(self, kind: str, original: str, make: Callable[[int], str]) -> str:
        """The surrogate of ``original``: the one it already has, else ``make(seed)`` with
        the seed taken from this occurrence's place (then the next seeds, until the
        surrogate is one no other value has and no kept literal is)."""
        self._occurrence += 1  # every occurrence counts, so a chance tie moves nothing
        # Times (and unique values) are equal by chance across records (two resources
        # created within one second), ids are not: times are mapped per record.
        key = f"{self._label}\0{original}" if kind in _PER_RECORD else original
        table = self._maps.setdefault(kind, {})
        found = table.get(key)
        if found is None:
            used = self._used.setdefault(kind, set())
            where = f"{self._label}\0{self._occurrence}".encode()
            seed = int.from_bytes(hashlib.sha256(where).digest()[:16], "big")
            found = make(seed)
            while found in used or found in self._keep:
                seed += 1
                found = make(seed)
            used.add(found)
            table[key] = found
        return found


def _variant(digit: str) -> str:
    """The first digit of a variant's range: the bits after the variant's are random (an
    RFC 4122 UUID has 8, 9, a or b there)."""
    value = int(digit, 16)
    return "0" if value < 8 else "8" if value < 12 else "c" if value < 14 else "e"


def _iso(m: re.Match[str], seed: int) -> str:
    seconds = m.group("secs") is not None
    offset = seed % _TEN_YEARS
    when = _EPOCH + timedelta(seconds=offset if seconds else offset - offset % 60)
    out = f"{when:%Y-%m-%d}{m.group('sep')}{when:%H:%M}"
    if seconds:
        out += f":{when:%S}"
        if m.group("frac"):
            out += "." + "0" * (len(m.group("frac")) - 1)
    return out + (m.group("zone") or "")


def _basic(m: re.Match[str], seed: int) -> str:
    when = _EPOCH + timedelta(seconds=seed % _TEN_YEARS)
    frac = m.group("bfrac")
    return f"{when:%Y%m%dT%H%M%S}" + ("." + "0" * (len(frac) - 1) if frac else "") + "Z"


def _parse_iso(text: str) -> datetime | None:
    try:  # fromisoformat wants a "T" and a "Z" in capitals
        return datetime.fromisoformat((text[:10] + "T" + text[11:]).replace("z", "Z"))
    except ValueError:
        return None


def _http_date(text: str) -> datetime | None:
    try:  # not strptime: %a and %b follow the locale
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def _epoch(value: float, digits: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(value / _EPOCH_DIGITS[digits], UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse(text: str, layout: str) -> datetime | None:
    try:
        return datetime.strptime(text, layout).replace(tzinfo=UTC)
    except ValueError:
        return None


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
