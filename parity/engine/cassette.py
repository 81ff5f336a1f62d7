"""Cassettes: recorded exchanges as JSON Lines, one exchange a line, written and read
streaming.

A capture of a large API (or a long Playwright session) can hold 100,000 exchanges, so
nothing here keeps more than one line in memory: :class:`CassetteWriter` appends line by
line (into a temporary file renamed on success, so an interrupted capture never leaves a
half cassette under the real name) and :func:`read_cassette` is a generator. Every record
goes through :func:`parity.core.redact.redact` inside :meth:`CassetteWriter.write`, so no
caller can write an unredacted one; a capture's writer then gives it its stable form
(:mod:`parity.engine.stable`: run-specific values replaced by surrogates), so recording an
unchanged backend again writes the same bytes.

A line (keys sorted, no spaces; ``v`` is the format version)::

    {"backend":"express","elapsed_ms":3.1,"endpoint":"mocs.get","expected":[200],
     "method":"GET","request":{"body":null,"headers":{...}},"response":{"headers":{...},
     "json":{...},"text":null},"role":"anonymous","route":"/api/items/{itemId}",
     "scenario":"existing","source":"catalog","status":200,"url":"http://...","v":1}

``json`` is the parsed body, ``text`` the body when it is not JSON (one of them is null).
A stable line has no ``elapsed_ms`` (read as 0).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from parity.core.errors import CassetteError
from parity.core.inputs import read_lines
from parity.core.redact import redact
from parity.engine.stable import Stabiliser

__all__ = ["FORMAT_VERSION", "CassetteWriter", "Recorded", "cassette_files", "read_cassette"]

FORMAT_VERSION = 1
_REQUIRED = ("backend", "method", "route", "status", "response")


@dataclass
class Recorded:
    """One recorded exchange (a line of a cassette)."""

    backend: str
    method: str
    route: str  # the catalog's template, e.g. /api/items/{itemId}
    status: int
    url: str = ""
    endpoint: str | None = None  # catalog endpoint id (None: not in the catalog)
    scenario: str | None = None
    role: str | None = None
    source: str = "catalog"  # "catalog" or "har:<file name>"
    expected: list[int] = field(default_factory=list)  # statuses the catalog expects
    request: dict[str, Any] = field(default_factory=dict)  # {"headers", "body"}
    response: dict[str, Any] = field(default_factory=dict)  # {"headers", "json", "text"}
    elapsed_ms: float = 0.0
    v: int = FORMAT_VERSION

    @property
    def key(self) -> str:
        """``"GET /api/mocs/{mocId}"``."""
        return f"{self.method} {self.route}"

    @property
    def body(self) -> Any:
        return self.response.get("json")

    @property
    def is_json(self) -> bool:
        return self.response.get("text") is None

    def to_dict(self) -> dict[str, Any]:
        # shallow on purpose: asdict() deep-copies, and redact() copies anyway
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_line(self) -> str:
        """The line as written (not redacted: :class:`CassetteWriter` redacts)."""
        return _dumps(self.to_dict())


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def cassette_files(directory: Path) -> list[Path]:
    """The cassettes of ``directory`` (``*.jsonl``), sorted by name for a stable order."""
    return sorted(p for p in Path(directory).glob("*.jsonl") if p.is_file())


class CassetteWriter:
    """Writes :class:`Recorded` exchanges to ``path``, redacted, one line each; with a
    ``stabiliser``, in their stable form (one stabiliser per file: it gives a value the
    same surrogate in every record of it)."""

    def __init__(
        self, path: Path, *, secrets: Iterable[str] = (), stabiliser: Stabiliser | None = None
    ) -> None:
        self.path = Path(path)
        self.count = 0
        self._secrets = tuple(secrets)
        self._stabiliser = stabiliser
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._file: IO[str] | None = None

    def __enter__(self) -> CassetteWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._tmp.open("w", encoding="utf-8", newline="\n")
        return self

    def write(self, record: Recorded) -> None:
        if self._file is None:
            raise RuntimeError("CassetteWriter.write() outside its with block")
        # redaction first: surrogates must never be made from (or hide) a secret
        clean = redact(record.to_dict(), self._secrets)
        if self._stabiliser is not None:
            clean = self._stabiliser.record(clean)
        self._file.write(_dumps(clean) + "\n")
        self.count += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._file is not None
        self._file.close()
        self._file = None
        if exc_type is None and self.count:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)
            if exc_type is None:  # nothing recorded: no cassette (an empty one is an error)
                self.path.unlink(missing_ok=True)


_TEXT = (str, "text")
_OPTIONAL_TEXT = ((str, type(None)), "text or null")
#: The JSON types of the known fields (unknown fields are ignored, see read_cassette).
_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "backend": _TEXT,
    "method": _TEXT,
    "route": _TEXT,
    "url": _TEXT,
    "source": _TEXT,
    "endpoint": _OPTIONAL_TEXT,
    "scenario": _OPTIONAL_TEXT,
    "role": _OPTIONAL_TEXT,
    "expected": (list, "a list of statuses"),
    "request": (dict, "an object"),
    "response": (dict, "an object"),
    "elapsed_ms": ((int, float), "a number"),
}
_PART_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "headers": (dict, "an object"),
    "text": (str, "text or null"),
}


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "a boolean"}
    names |= {int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _fail(path: Path, line: int, problem: str) -> CassetteError:
    return CassetteError(
        problem,
        path=path,
        location=f"line {line}",
        hint="Fix or delete that line, or record the cassette again with `parity capture`",
    )


def _parse(path: Path, number: int, line: str) -> Recorded:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _fail(path, number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _fail(path, number, "nested too deeply to be read") from None
    if not isinstance(data, dict):
        raise _fail(path, number, "a cassette line must be a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise _fail(path, number, f"missing {', '.join(missing)}")
    version = data.get("v", FORMAT_VERSION)
    if isinstance(version, bool) or not isinstance(version, int) or version != FORMAT_VERSION:
        raise _fail(path, number, f"format version {data.get('v')!r} (this suite reads 1)")
    status = data["status"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise _fail(path, number, f"status {status!r} is not an HTTP status")
    for key, (types, what) in _TYPES.items():
        if key in data and (
            not isinstance(data[key], types)
            or (isinstance(data[key], bool) and key == "elapsed_ms")
        ):
            raise _fail(path, number, f"{key} must be {what} (got {_kind(data[key])})")
    for part in ("request", "response"):
        for key, (types, what) in _PART_TYPES.items():
            value = data.get(part, {}).get(key)
            if value is not None and not isinstance(value, types):
                raise _fail(path, number, f"{part}.{key} must be {what} (got {_kind(value)})")
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in data.get("expected", [])):
        raise _fail(path, number, "expected must be a list of HTTP statuses")
    known = Recorded.__dataclass_fields__
    try:
        return Recorded(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:  # pragma: no cover - every field has a default but these
        raise _fail(path, number, str(exc)) from None


def read_cassette(path: Path) -> Iterator[Recorded]:
    """Yield the exchanges of ``path`` one at a time (blank lines are skipped).

    A line that is not a valid record raises :class:`CassetteError` naming the file and
    the line number. Keys this suite does not know are ignored: cassettes may come from
    other recorders (or newer versions of this one), and only known fields are used.
    """
    path = Path(path)
    hint = "Check the path, or record one with `parity capture`"
    records = 0
    for number, line in read_lines(path, CassetteError, hint=hint):
        if line.strip():
            records += 1
            yield _parse(path, number, line)
    if records == 0:
        raise CassetteError("the cassette holds no exchanges", path=path, hint=hint)
