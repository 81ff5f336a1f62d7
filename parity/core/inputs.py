"""Reading the files the suite is given: size limits, UTF-8, JSON and TOML parsing.

Every loader (catalog, parity.toml, baseline, cassettes, contracts, HAR, matrix, runtime
config) reads through here so that bad input fails the same way everywhere: one
:class:`~parity.core.errors.UsageError` subclass naming the file, the place (line, column) and
the fix, never a bare ``UnicodeDecodeError``, ``RecursionError`` or ``MemoryError``.

Each kind of file has a size limit (a 100 MB "catalog" is a mistake, and reading it whole
would take the memory of a CI runner); each limit can be raised with its ``PARITY_MAX_*_MB``
variable. Cassettes are streamed, so their limit is per line, not per file.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.core.errors import ConfigError, UsageError

__all__ = [
    "LIMITS",
    "Limit",
    "decode_utf8",
    "max_bytes",
    "parse_json",
    "parse_toml",
    "read_lines",
    "read_text",
]


@dataclass(frozen=True)
class Limit:
    what: str  # "catalog", "HAR file": used in messages
    env: str  # the variable that raises it (megabytes)
    default_mb: float


#: Size limits per kind of input (megabytes; cassette: per line).
LIMITS: dict[str, Limit] = {
    "catalog": Limit("catalog", "PARITY_MAX_CATALOG_MB", 10),
    "config": Limit("config file", "PARITY_MAX_CONFIG_MB", 1),
    "baseline": Limit("baseline", "PARITY_MAX_BASELINE_MB", 1),
    "env": Limit("env file", "PARITY_MAX_CONFIG_MB", 1),
    "contract": Limit("contract schema", "PARITY_MAX_CONTRACT_MB", 10),
    "har": Limit("HAR file", "PARITY_MAX_HAR_MB", 64),
    "matrix": Limit("matrix file", "PARITY_MAX_MATRIX_MB", 64),
    "runtime-config": Limit("runtime config", "PARITY_MAX_RUNTIME_CONFIG_MB", 1),
    "cassette-line": Limit("cassette line", "PARITY_MAX_CASSETTE_LINE_MB", 16),
}

_MB = 1024 * 1024


def max_bytes(kind: str) -> int:
    """The limit for ``kind`` in bytes (its ``PARITY_MAX_*_MB`` variable, else the default)."""
    limit = LIMITS[kind]
    raw = os.environ.get(limit.env, "").strip()
    if not raw:
        return int(limit.default_mb * _MB)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(
            f"not a positive number of megabytes (got {raw!r})",
            location=limit.env,
            hint=f"Set it to e.g. {limit.default_mb * 10:g}, or unset it for {limit.default_mb:g}",
        )
    return int(value * _MB)


def _size(n: int) -> str:
    return f"{n / _MB:.1f} MB" if n >= _MB // 10 else f"{n} bytes"


def _too_big(kind: str, path: Path, size: int | None, error: type[UsageError]) -> UsageError:
    limit = LIMITS[kind]
    have = f"{_size(size)}, " if size is not None else ""
    return error(
        f"too big ({have}over the {_size(max_bytes(kind))} limit for a {limit.what})",
        path=path,
        hint=f"Check it is the right file; if it is, raise the limit with {limit.env}=<megabytes>",
    )


def decode_utf8(data: bytes, path: Path, error: type[UsageError], *, line_offset: int = 0) -> str:
    """``data`` as text (a UTF-8 byte-order mark is dropped); bad bytes name line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1 + line_offset
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise error(
            f"not UTF-8 text (byte 0x{byte} cannot be decoded)",
            path=path,
            location=f"line {line}, column {column}",
            hint="Save the file as UTF-8",
        ) from None


def read_text(
    path: str | Path,
    kind: str,
    error: type[UsageError],
    *,
    hint: str,
    empty_ok: bool = False,
) -> str:
    """Read a whole file of ``kind`` as UTF-8 text, or raise ``error``.

    ``hint`` says how to point at another file (e.g. "Fix --catalog / PARITY_CATALOG").
    Missing, unreadable, a directory, over the size limit, empty (unless ``empty_ok``) or
    not UTF-8: each is one ``error`` naming the file.
    """
    p = Path(path)
    what = LIMITS[kind].what
    limit = max_bytes(kind)
    try:
        if p.is_dir():
            raise error(f"is a directory, not a {what}", path=p, hint=hint)
        with p.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:  # refuse before reading a byte
                raise _too_big(kind, p, size, error)
            data = fh.read(limit + 1)  # a pipe or device has no size: read one byte past
    except FileNotFoundError:
        raise error(f"cannot read the {what} (no such file)", path=p, hint=hint) from None
    except OSError as exc:
        raise error(f"cannot read the {what} ({exc.strerror or exc})", path=p, hint=hint) from None
    except ValueError as exc:  # e.g. "embedded null byte" in the path
        raise error(f"not a usable path ({exc})", path=repr(str(p)), hint=hint) from None
    if len(data) > limit:
        raise _too_big(kind, p, None, error)
    text = decode_utf8(data, p, error)
    if not empty_ok and not text.strip():
        raise error(f"the {what} is empty", path=p, hint=hint)
    return text


def read_lines(path: Path, error: type[UsageError], *, hint: str) -> Iterator[tuple[int, str]]:
    """Stream ``(line number, text)`` of a JSON Lines file; each line is size-checked and
    decoded on its own, so a file of any length is read in constant memory."""
    limit = max_bytes("cassette-line")
    try:
        if path.is_dir():
            raise error("is a directory, not a cassette", path=path, hint=hint)
        handle = path.open("rb")
    except FileNotFoundError:
        raise error("cannot open the cassette (no such file)", path=path, hint=hint) from None
    except OSError as exc:
        raise error(
            f"cannot open the cassette ({exc.strerror or exc})", path=path, hint=hint
        ) from None
    with handle:
        number = 0
        while True:
            try:
                raw = handle.readline(limit + 1)
            except OSError as exc:
                raise error(f"cannot read it ({exc.strerror or exc})", path=path) from None
            if not raw:
                return
            number += 1
            if len(raw) > limit:
                limit_info = LIMITS["cassette-line"]
                raise error(
                    f"line longer than the {_size(limit)} limit for a {limit_info.what}",
                    path=path,
                    location=f"line {number}",
                    hint=f"Check it is a cassette (JSON Lines); if it is, raise the limit with "
                    f"{limit_info.env}=<megabytes>",
                )
            yield number, decode_utf8(raw, path, error, line_offset=number - 1)


def parse_json(text: str, path: Path, error: type[UsageError], *, hint: str) -> Any:
    """``json.loads`` with every failure as ``error`` naming line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"not valid JSON ({exc.msg})",
            path=path,
            location=f"line {exc.lineno}, column {exc.colno}",
            hint=hint,
        ) from None
    except RecursionError:
        raise error("nested too deeply to be read", path=path, hint=hint) from None


_TOML_POS = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)$")


def parse_toml(text: str, path: Path, error: type[UsageError], *, hint: str) -> dict[str, Any]:
    """``tomllib.loads`` with every failure as ``error`` naming line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POS.search(message)
        location = match.group(1) if match else None
        problem = _TOML_POS.sub("", message)
        raise error(
            f"not valid TOML ({problem})", path=path, location=location, hint=hint
        ) from None
    except RecursionError:
        raise error("nested too deeply to be read", path=path, hint=hint) from None
