"""Redaction of files written by tools the suite drives (Playwright's traces and HARs).

The suite redacts what it writes itself before it is serialised (:mod:`parity.core.redact`).
A browser flow's trace (``trace.zip``: every action with its arguments, every request and
answer, DOM snapshots) and its HAR are written by Playwright, with the password typed into
the login form, the tokens Cognito sent and the user's e-mail address in them. They are
redacted in place once Playwright has closed them, member by member for a zip: text
members through :func:`~parity.core.redact.redact_text`, binary ones (screenshots, images)
as they are. Placeholders hold no quote or backslash, so a JSON member stays JSON and the
trace still opens in ``playwright show-trace``.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from parity.core.redact import redact_text

__all__ = ["redact_file"]


def _redact_bytes(data: bytes, secrets: tuple[str, ...]) -> bytes:
    if b"\x00" in data[:4096]:
        return data  # binary: an image, a font
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    redacted = redact_text(text, secrets)
    return data if redacted == text else redacted.encode("utf-8")


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def redact_file(path: Path, secrets: Iterable[str] = ()) -> bool:
    """Redact ``path`` in place (each member of a zip); return whether anything changed."""
    known = tuple(secrets)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            members = [(info, archive.read(info)) for info in archive.infolist()]
        redacted = [(info, _redact_bytes(data, known)) for info, data in members]
        if all(new is old for (_, old), (_, new) in zip(members, redacted, strict=True)):
            return False

        def write_zip(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as out:
                for info, data in redacted:
                    out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)

        _replace(path, write_zip)
        return True
    data = path.read_bytes()
    new = _redact_bytes(data, known)
    if new is data:
        return False
    _replace(path, lambda tmp: tmp.write_bytes(new))
    return True
