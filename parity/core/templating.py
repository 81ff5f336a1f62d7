"""``{name}`` placeholders in catalog values and login bodies.

A string that is exactly one placeholder (``"{ids}"``) is replaced by the value itself,
keeping its type, so a saved list or number can be sent as JSON unchanged; a placeholder
inside a longer string is formatted with ``str()``. ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["PLACEHOLDER", "TemplateError", "placeholders", "render"]

#: A ``{name}`` placeholder; names are identifiers.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(KeyError):
    """A placeholder names a variable that has no value (``.name`` is the variable)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)


def _render_str(text: str, variables: Mapping[str, Any]) -> Any:
    whole = PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1):
        name = whole.group(1)
        if name not in variables:
            raise TemplateError(name)
        return variables[name]

    def substitute(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:  # "{{" or "}}"
            return m.group(0)[0]
        if name not in variables:
            raise TemplateError(name)
        return str(variables[name])

    return PLACEHOLDER.sub(substitute, text)


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """Return ``value`` with placeholders replaced, recursing into lists and dicts.

    Raises :class:`TemplateError` when a placeholder has no value.
    """
    if isinstance(value, str):
        return _render_str(value, variables)
    if isinstance(value, Mapping):
        return {k: render(v, variables) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, variables) for v in value]
    return value


def placeholders(value: Any) -> Iterator[str]:
    """Yield the variable names used anywhere in ``value``."""
    if isinstance(value, str):
        for m in PLACEHOLDER.finditer(value):
            if m.group(1):
                yield m.group(1)
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from placeholders(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from placeholders(v)
