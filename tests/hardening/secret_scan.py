"""The secret scanner of the hardening tests: every file a run wrote (zip members too)
searched for known secrets, in the forms they could be written in, and for their shapes."""

from __future__ import annotations

import base64
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

__all__ = ["SHAPES", "Hit", "encoded", "scan"]

SHAPES: dict[str, re.Pattern[str]] = {
    "JWT shape": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}"),
    "presigned signature shape": re.compile(r"X-Amz-Signature=[0-9a-fA-F]{16,}"),
    # not a file name: Playwright's trace frames are page@<sha1>-<ms>.jpeg
    "e-mail shape": re.compile(
        r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
        r"\.(?!(?:jpe?g|png|webp|dat)\b)[A-Za-z]{2,}"
    ),
}


@dataclass(frozen=True)
class Hit:
    file: str
    kind: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}"


def _blobs(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of a file; for a zip (Playwright traces), its member names and each
    member (its raw bytes are compressed: only the names and stored members are text)."""
    if not zipfile.is_zipfile(path):
        yield str(path), path.read_bytes()
        return
    with zipfile.ZipFile(path) as archive:
        yield str(path), "\n".join(archive.namelist()).encode("utf-8")
        for member in archive.namelist():
            yield f"{path}!{member}", archive.read(member)


def scan(files: Iterable[Path], secrets: Mapping[str, Iterable[str]]) -> list[Hit]:
    """Every (file, kind) where a known secret or a secret's shape appears."""
    known = {kind: {v for v in values if len(v) >= 6} for kind, values in secrets.items()}
    hits: list[Hit] = []
    for path in files:
        for name, data in _blobs(path):
            text = data.decode("utf-8", errors="replace")
            for kind, values in known.items():
                if any(v in text for v in values):
                    hits.append(Hit(name, kind))
            for kind, shape in SHAPES.items():
                if shape.search(text):
                    hits.append(Hit(name, kind))
    return hits


def encoded(value: str) -> set[str]:
    """``value`` plain, URL-encoded (both ways) and base64 (standard and URL-safe)."""
    raw = value.encode("utf-8")
    return {
        value,
        quote(value, safe=""),
        quote_plus(value),
        base64.b64encode(raw).decode("ascii"),
        base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
    }
