"""A tiny JSON path dialect for catalog ``save`` rules, login token paths and noise rules.

``data.id``, ``data.items[0].id``, ``data.items.0.id`` and ``data.items[*].id`` (every
element: the result is a list). Keys are split on dots; that is all the catalog needs,
and it reads the same way the report prints paths.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["MISSING", "JsonPathError", "extract", "parse", "validated"]

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\*|-?\d+)\]")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: Returned by :func:`extract` with ``default=MISSING`` semantics (never a JSON value).
MISSING: Any = _Missing()


class JsonPathError(ValueError):
    """The path is not well formed, or (from :func:`extract`) not present in the document."""


def parse(path: str) -> list[str | int]:
    """Split ``path`` into keys (str), indexes (int) and wildcards (``"*"``)."""
    if not path or path.strip() != path:
        raise JsonPathError(f"empty or padded JSON path {path!r}")
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and parts:
            pos += 1
        m = _TOKEN.match(path, pos)
        if not m:
            raise JsonPathError(f"malformed JSON path {path!r} at character {pos + 1}")
        key, index = m.groups()
        if key is not None:
            parts.append(int(key) if key.lstrip("-").isdigit() else key)
        else:
            parts.append("*" if index == "*" else int(index))
        pos = m.end()
    return parts


def validated(path: str) -> str:
    """``path`` if it is well formed, else a plain ValueError with :func:`parse`'s message
    (what a pydantic validator of a catalog field raises)."""
    try:
        parse(path)
    except JsonPathError as exc:
        raise ValueError(str(exc)) from None
    return path


def _walk(doc: Any, parts: list[str | int], path: str) -> Any:
    for i, part in enumerate(parts):
        if part == "*":
            if not isinstance(doc, list):
                raise JsonPathError(f"{path}: [*] applied to a {type(doc).__name__}")
            return [_walk(item, parts[i + 1 :], path) for item in doc]
        if isinstance(part, int) and isinstance(doc, list):
            try:
                doc = doc[part]
            except IndexError:
                raise JsonPathError(f"{path}: index {part} out of range") from None
        elif isinstance(doc, dict) and str(part) in doc:
            doc = doc[str(part)]
        else:
            raise JsonPathError(f"{path}: no {part!r} in the answer")
    return doc


@lru_cache(maxsize=1024)
def _parsed(path: str) -> tuple[str | int, ...]:
    # the same few paths are extracted from every exchange (contract inference, noise,
    # saves): parsing each once is a fifth of inference time saved
    return tuple(parse(path))


def extract(doc: Any, path: str, default: Any = MISSING) -> Any:
    """Return the value at ``path`` in ``doc``.

    Raises :class:`JsonPathError` when it is absent, unless ``default`` is given.
    """
    try:
        return _walk(doc, list(_parsed(path)), path)
    except JsonPathError:
        if default is not MISSING:
            return default
        raise
