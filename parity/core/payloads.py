"""Upload payloads generated in memory, deterministically, never committed.

The same (size, content type) always gives the same bytes, so both backends receive
identical files (same sha256) and a boundary test can ask for exactly 10,485,760 bytes.
``image/png`` gives a valid PNG (16x16) padded to the size with a private ancillary
chunk; ``image/jpeg`` a baseline 8x8 grey JPEG padded with comment segments; anything
else pseudo-random bytes (``application/pdf`` gets the ``%PDF-`` magic first).
"""

from __future__ import annotations

import functools
import random
import re
import struct
import zlib
from collections.abc import Iterator

__all__ = ["iter_payload", "make_payload", "min_size", "parse_size", "streamable"]

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: int | str) -> int:
    """``1024``, ``"64KiB"``, ``"10MiB"`` (binary) or ``"10MB"`` (decimal) -> bytes."""
    if isinstance(value, bool):
        raise ValueError("a size must be a number of bytes, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"negative size {value}")
        return value
    m = _SIZE.match(str(value))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"invalid size {value!r}: use bytes or a unit such as 64KiB, 10MiB, 10MB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@functools.cache
def _block() -> bytes:
    return random.Random(0x5EED).randbytes(65536)


def _filler(n: int) -> bytes:
    block = _block()
    return (block * (n // len(block) + 1))[:n]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def _png_parts() -> tuple[bytes, bytes]:
    width = height = 16
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 16, y * 16, 128))
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
    tail = _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    return head, tail


def _segment(marker: int, data: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data


@functools.cache
def _jpeg_parts() -> tuple[bytes, bytes]:
    head = b"\xff\xd8" + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # one Huffman code of length 1 -> symbol 0
    tail = (
        _segment(0xDB, b"\x00" + b"\x01" * 64)  # quantisation table: all ones
        + _segment(0xC0, struct.pack(">BHHB", 8, 8, 8, 1) + b"\x01\x11\x00")  # 8x8 grey
        + _segment(0xC4, b"\x00" + one_code)  # DC table
        + _segment(0xC4, b"\x10" + one_code)  # AC table
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + b"\x3f"  # the one block: DC difference 0, end of block, padded with 1 bits
        + b"\xff\xd9"
    )
    return head, tail


def _png(size: int) -> bytes:
    head, tail = _png_parts()
    base = len(head) + len(tail)
    if size == base:
        return head + tail
    if size < base + 12:
        raise ValueError(f"a PNG payload needs exactly {base} or at least {base + 12} bytes")
    # "paDd": ancillary, private, safe-to-copy: every decoder skips it.
    return head + _chunk(b"paDd", _filler(size - base - 12)) + tail


def _jpeg(size: int) -> bytes:
    head, tail = _jpeg_parts()
    base = len(head) + len(tail)
    need = size - base
    if need < 0 or 0 < need < 4:
        raise ValueError(f"a JPEG payload needs exactly {base} or at least {base + 4} bytes")
    comments = []
    while need:
        n = min(need, 4 + 65533)  # marker + length + at most 65533 bytes of comment
        if 0 < need - n < 4:  # leave room for a last segment of at least 4 bytes
            n -= 4
        comments.append(_segment(0xFE, _filler(n - 4)))
        need -= n
    return head + b"".join(comments) + tail


def min_size(content_type: str) -> int:
    """The smallest payload :func:`make_payload` builds for ``content_type``."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "image/png":
        return sum(map(len, _png_parts()))
    if kind in ("image/jpeg", "image/jpg"):
        return sum(map(len, _jpeg_parts()))
    return 0


@functools.lru_cache(maxsize=8)
def make_payload(size: int, content_type: str = "application/octet-stream") -> bytes:
    """``size`` deterministic bytes shaped like ``content_type`` (see the module doc)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "image/png":
        return _png(size)
    if kind in ("image/jpeg", "image/jpg"):
        return _jpeg(size)
    if kind == "application/pdf" and size >= 9:
        return b"%PDF-1.4\n" + _filler(size - 9)
    return _filler(size)


def streamable(content_type: str) -> bool:
    """Whether :func:`iter_payload` can stream this type (images are built whole)."""
    return min_size(content_type) == 0


def iter_payload(
    size: int, content_type: str = "application/octet-stream", chunk_size: int = 1024 * 1024
) -> Iterator[bytes]:
    """The bytes of ``make_payload(size, content_type)`` in chunks of at most
    ``chunk_size``, never more than one chunk in memory: for uploads of any size (a 100 MB
    file is not held once). Image types are not streamable (``ValueError``)."""
    if not streamable(content_type):
        raise ValueError(f"{content_type} payloads are built whole; use make_payload")
    if size < 0:
        raise ValueError(f"negative size {size}")
    kind = content_type.split(";")[0].strip().lower()
    rest = size
    if kind == "application/pdf" and size >= 9:
        yield b"%PDF-1.4\n"
        rest -= 9
    block = _block()
    # The filler repeats with the block's period: a chunk that is a whole number of blocks
    # is the same bytes wherever it starts, so one buffer serves every full chunk.
    step = max(len(block), chunk_size - chunk_size % len(block))
    full = _filler(step)
    while rest >= step:
        yield full
        rest -= step
    if rest:
        yield full[:rest]
