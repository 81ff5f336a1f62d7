"""Violations: jsonschema's validation errors turned into what a reader needs.

Each :class:`Violation` is one JSON path (in the catalog's dialect, ``data.items[0].id``,
the one the differential checks and ``parity-baseline.toml`` use), what the contract
expects and what came back, in words (``present (a required field)``, ``integer``,
``"1450" (string)``). Errors inside ``anyOf`` are replaced by the best-matching branch's,
a missing field next to an unexpected look-alike is called a rename, and list elements
with the same problem are grouped (``data.items[*].price (20 elements)``).
A schema that is not a valid one (:func:`check_schema`) is said the same way: the file, the
keyword's path, jsonschema's message on one line.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from parity.core.envelope import json_type
from parity.core.errors import UsageError
from parity.core.results import Origin
from parity.engine.diff import Difference, Kind

__all__ = [
    "Violation",
    "check_schema",
    "grouped",
    "json_path",
    "short_message",
    "show",
    "violations_of",
]


def json_path(parts: Iterable[Any]) -> str:
    """The catalog's path dialect (``data.items[0].id``; ``$`` is the whole body), the one
    noise rules, the differential checks and ``parity-baseline.toml`` use too."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out or "$"


def short_message(text: str, limit: int = 160) -> str:
    """A jsonschema message on one line, clipped (it quotes the offending value, which may
    be a whole document)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_schema(
    schema: dict[str, Any], path: Path, error: type[UsageError], *, fix: str, hint: str
) -> None:
    """Raise ``error`` naming ``path`` unless ``schema`` is a valid draft 2020-12 schema: at
    the keyword that is not (``fix``: what to do there), or when it is nested too deeply to
    be read (``hint``)."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise error(
            f"not a valid draft 2020-12 schema: {short_message(exc.message)}",
            path=path,
            location=json_path(exc.absolute_path),
            hint=fix,
        ) from None
    except RecursionError:
        raise error("nested too deeply to be read", path=path, hint=hint) from None


def show(value: Any, limit: int = 80) -> str:
    """A value as a failure shows it: JSON, clipped, with its JSON type."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{text} ({json_type(value)})"


@dataclass
class Violation:
    path: str  # "data.items[*].price" ("$": the whole body, "status": the status code)
    problem: str  # "missing", "wrong type", "gateway-originated", ...
    expected: str
    actual: str
    keyword: str  # the schema keyword that failed ("required", "type", ...), or "gateway"
    count: int = 1  # how many list elements showed the same problem
    origin: Origin = "application"
    accepted_by: str | None = None  # the parity-baseline.toml entry that accepts it
    note: str = ""  # e.g. "baseline entry 'x' expired on ..."

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def difference(self) -> Difference:
        """As the differential checks spell a difference (what the baseline matches)."""
        return Difference(
            path=self.path,
            kind=_KINDS.get(self.keyword, "body"),
            expected=self.expected,
            actual=self.actual,
            severity="additive" if self.keyword == "additionalProperties" else "breaking",
            origin=self.origin,
        )


_KINDS: dict[str, Kind] = {
    "required": "removed",
    "additionalProperties": "added",
    "type": "type",
    "format": "type",
    "enum": "value",
    "const": "value",
    "status": "status",
}


def _similar(name: str, candidates: Iterable[str]) -> str | None:
    def norm(s: str) -> str:
        return s.lower().replace("_", "").replace("-", "")

    for other in candidates:
        if norm(other) == norm(name):
            return other
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def violations_of(error: ValidationError) -> list[Violation]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        return violations_of(best_match(error.context))
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    kind = str(error.validator)
    if kind == "required" and isinstance(instance, dict):
        extra = [k for k in instance if k not in schema.get("properties", {})]
        # one error per missing property; its name is in the message, quoted by repr()
        named = re.match(r"^(['\"])(.*)\1 is a required property", error.message)
        out = []
        for name in [named.group(2)] if named else error.validator_value:
            if name in instance:
                continue
            renamed = _similar(name, extra)
            actual = "absent"
            if renamed:
                actual += f" (the object has an unexpected {renamed!r}: renamed?)"
            expected = "present (a required field)"
            out.append(Violation(json_path([*path, name]), "missing", expected, actual, kind))
        return out
    if kind == "additionalProperties" and isinstance(instance, dict):
        props = sorted(schema.get("properties", {}))
        return [
            Violation(
                json_path([*path, k]),
                "unexpected field",
                "only " + ", ".join(props),
                show(instance[k]),
                kind,
            )
            for k in instance
            if k not in props
        ]
    if kind == "type":
        types = error.validator_value
        expected = " or ".join(types) if isinstance(types, list) else str(types)
        if schema.get("format"):
            expected += f" (format {schema['format']})"
        return [Violation(json_path(path), "wrong type", expected, show(instance), kind)]
    if kind == "format":
        expected = f"a {error.validator_value} string"
        return [Violation(json_path(path), "wrong format", expected, show(instance), kind)]
    if kind == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        expected = f"one of {allowed}"
        return [Violation(json_path(path), "value not allowed", expected, show(instance), kind)]
    return [Violation(json_path(path), kind, error.message, show(instance), kind)]


def grouped(violations: list[Violation]) -> list[Violation]:
    """Collapse list elements with the same problem: ``data.items[*].x (20 elements)``."""
    groups: dict[tuple[str, str, str], Violation] = {}
    for v in violations:
        generic = re.sub(r"\[\d+\]", "[*]", v.path)
        key = (generic, v.problem, v.expected)
        if key in groups:
            groups[key].count += 1
        else:
            groups[key] = replace(v, path=generic)
    return list(groups.values())
