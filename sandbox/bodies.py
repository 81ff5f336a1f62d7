"""Request body parsing shared by the Express adapter and the Lambda handlers.

Express parses with body-parser (JSON) and multer (multipart); a Node Lambda would parse
``event.body`` with ``JSON.parse`` and busboy.  Both end in the same ``CoreRequest``
fields, so the parsing lives here once and both flavours report a malformed body the
same way (400 ``VALIDATION_ERROR``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from sandbox.core.http import ApiError, UploadedFile

__all__ = [
    "content_type_of",
    "is_json",
    "is_multipart",
    "parse_json",
    "parse_multipart",
]

# The parser logs a warning for every malformed body before raising; we answer those with
# a 400, so the log line is noise on the sandbox's stderr.
logging.getLogger("python_multipart.multipart").setLevel(logging.ERROR)


def content_type_of(value: str | None) -> str:
    """The bare media type, lower-cased: ``text/HTML; charset=utf-8`` -> ``text/html``."""
    return (value or "").split(";", 1)[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    media = content_type_of(content_type)
    return media == "application/json" or media.endswith("+json")


def is_multipart(content_type: str | None) -> bool:
    return content_type_of(content_type) == "multipart/form-data"


def parse_json(body: bytes) -> Any:
    """Parse a JSON body like body-parser in its default strict mode.

    An empty body gives ``None`` (no body); anything but an object or an array at the top
    level is rejected, as ``strict: true`` does.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if text[0] not in "{[":
        raise _invalid_json()
    try:
        return json.loads(text)
    except ValueError:
        raise _invalid_json() from None


def _invalid_json() -> ApiError:
    # Same message and issue as the core's own check (sandbox.core.common.json_body).
    return ApiError(
        "VALIDATION_ERROR", "Invalid JSON body", [{"field": "body", "issue": "invalid JSON"}]
    )


def _malformed() -> ApiError:
    return ApiError(
        "VALIDATION_ERROR",
        "Malformed multipart body",
        [{"field": "body", "issue": "invalid multipart"}],
    )


class _Collector:
    """MultipartParser callbacks collecting fields and files in memory."""

    def __init__(self) -> None:
        self.form: dict[str, str] = {}
        self.files: dict[str, UploadedFile] = {}
        self.ended = False
        self._headers: dict[str, str] = {}
        self._field = b""
        self._value = b""
        self._data: list[bytes] = []

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers, self._data = {}, []

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        name = self._field.decode("latin-1").lower()
        # latin-1 keeps the raw bytes: parse_options_header re-encodes the value as latin-1
        # (a UTF-8 decoded non-ASCII field name made it raise, a 500); names and filenames
        # are decoded as UTF-8 from its byte parameters below.
        self._headers[name] = self._value.decode("latin-1")
        self._field, self._value = b"", b""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._data.append(data[start:end])

    def _part_end(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get(b"name", b"").decode("utf-8", errors="replace")
        payload = b"".join(self._data)
        if b"filename" in params:
            # multer's .single() rejects a repeated file field; keeping the first one is
            # the closest quiet equivalent and never lets a later part swap the file.
            self.files.setdefault(
                name,
                UploadedFile(
                    field=name,
                    filename=params[b"filename"].decode("utf-8", errors="replace"),
                    content_type=self._headers.get("content-type", "application/octet-stream"),
                    data=payload,
                ),
            )
        elif name:
            self.form[name] = payload.decode("utf-8", errors="replace")

    def _end(self) -> None:
        self.ended = True


def parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split a ``multipart/form-data`` body into text fields and files."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed()
    collector = _Collector()
    try:
        parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
        parser.write(body)
        parser.finalize()
    except FormParserError:
        raise _malformed() from None
    if not collector.ended:  # truncated: no closing boundary
        raise _malformed()
    return collector.form, collector.files
