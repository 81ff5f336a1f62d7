"""Where the probes' odd values come from: Schemathesis' coverage phase over the OpenAPI
document of the catalog (wrong types per query parameter and body field, an unknown query
parameter, bodies that are not an object, the media type it refuses), and Hypothesis for
unusual text (non-ASCII, spaces, control characters, ``_``), drawn under the run's seed.

Both are optional sources: when Schemathesis cannot read the document (or changes its
API), :class:`Coverage` is empty with the reason and the probes use their own values, so a
tool upgrade never stops the probe family (the reason shows in each record's evidence).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

__all__ = ["FIXED_UNUSUAL", "Coverage", "CoverageSource", "unusual_texts"]

#: Characters a framework may treat differently: spaces, control characters, ``_``,
#: non-ASCII letters, symbols and emoji. Never braces: they are the catalog's placeholders.
_UNUSUAL = st.characters(
    categories=("Zs", "Cc", "Pc", "Ll", "Lu", "Lo", "So", "Mn"),
    exclude_characters="{}\x00",
)
#: The ones every run sends whatever the seed draws, one per class of trouble.
FIXED_UNUSUAL = ("Château Noël", "🧱 brick", "with  two  spaces", "under_score", "tab\there\x07")


@functools.cache
def unusual_texts(seed: int, count: int = 3) -> tuple[str, ...]:
    """``count`` short texts of unusual characters, the same for the same ``seed``
    (Hypothesis, derandomised by the seed), after the fixed ones."""
    drawn: list[str] = []

    @settings(
        max_examples=count * 4,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.text(alphabet=_UNUSUAL, min_size=2, max_size=12))
    def collect(value: str) -> None:
        if value.strip() and value not in drawn and len(drawn) < count:
            drawn.append(value)

    hypothesis_seed(seed)(collect)()
    return (*FIXED_UNUSUAL, *drawn)


_FIELD = re.compile(r"^(?P<name>[^:]+): Incorrect type$")


@dataclass
class Coverage:
    """What Schemathesis' coverage phase generated for one operation, as values to put
    into the catalog's own request one at a time (so only one thing differs)."""

    query_wrong_types: dict[str, list[Any]] = field(default_factory=dict)
    unknown_query: tuple[str, Any] | None = None
    body_wrong_types: dict[str, list[Any]] = field(default_factory=dict)
    non_objects: list[Any] = field(default_factory=list)
    refused_media: list[str] = field(default_factory=list)
    unavailable: str | None = None  # why there is nothing (None: Schemathesis ran)

    @property
    def source(self) -> str:
        return "schemathesis coverage" if self.unavailable is None else "built-in values"


def _same(a: Any, b: Any) -> bool:
    # 0 == False and 1 == 1.0 in Python; a probe value is a JSON value of its own type.
    return type(a) is type(b) and json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _add(values: list[Any], value: Any) -> None:
    if not any(_same(value, v) for v in values):
        values.append(value)


def _describe(case: Any) -> tuple[str, str | None]:
    data = getattr(getattr(getattr(case, "meta", None), "phase", None), "data", None)
    return str(getattr(data, "description", "") or ""), getattr(data, "location", None)


def _read(schema: Any, operation_id: str) -> Coverage:
    from schemathesis import GenerationMode

    found = schema.find_operation_by_id(operation_id)
    operation = found.ok() if hasattr(found, "ok") else found
    out = Coverage()
    cases = schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.NEGATIVE],
        generation_config=schema.config.generation,
    )
    for case in cases:
        description, location = _describe(case)
        body = case.body if isinstance(case.body, dict | list | str | int | float) else None
        named = _FIELD.match(description)
        if description == "Object with unexpected properties" and case.query:
            known = {p["name"] for p in operation.definition.raw.get("parameters", [])}
            extra = [(k, v) for k, v in case.query.items() if k not in known]
            if extra and out.unknown_query is None:
                out.unknown_query = extra[0]
        elif named and location is None and case.query:  # "limit: Incorrect type" (query)
            name = named.group("name")
            if name in case.query:
                _add(out.query_wrong_types.setdefault(name, []), case.query[name])
        elif named and location and location.startswith("/properties/") and isinstance(body, dict):
            name = named.group("name")
            if name in body:
                _add(out.body_wrong_types.setdefault(name, []), body[name])
        elif description == "Incorrect type" and location == "/type" and body is not None:
            if not isinstance(body, dict):
                _add(out.non_objects, body)
        elif description.startswith("Unsupported Content-Type: "):
            out.refused_media.append(description.split(": ", 1)[1])
    return out


class CoverageSource:
    """Schemathesis' coverage phase over one OpenAPI document, read once per session."""

    def __init__(self, document: dict[str, Any] | None) -> None:
        self._document = document
        self._schema: Any = None
        self._failed: str | None = None if document is not None else "no OpenAPI document"

    def _load(self) -> Any:
        if self._schema is None and self._failed is None:
            try:
                import schemathesis

                self._schema = schemathesis.openapi.from_dict(self._document or {})
            except Exception as exc:
                self._failed = f"schemathesis cannot read the document: {exc}"
        return self._schema

    @functools.cache  # noqa: B019 - one source per session, operations are few
    def for_operation(self, operation_id: str) -> Coverage:
        """The coverage phase's negative values for ``operation_id``."""
        schema = self._load()
        if schema is None:
            return Coverage(unavailable=self._failed)
        try:
            return _read(schema, operation_id)
        # A third-party generator: whatever it raises, the probes fall back to their own
        # values and say so, rather than stopping the family.
        except Exception as exc:
            return Coverage(
                unavailable=f"schemathesis coverage failed: {type(exc).__name__}: {exc}"
            )
