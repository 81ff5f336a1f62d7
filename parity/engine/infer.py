"""Infer: cassettes -> one JSON Schema (draft 2020-12) per endpoint x status.

GenSON builds the structure (types, properties, ``required`` = keys present in every
sample, list items merged over every element so a list that is sometimes empty still gets
an item schema, nullable as a ``"null"`` in the type list). It is extended with:

- ``format`` (``uuid``, ``date-time``) when *every* string sample at that place has it,
  through GenSON's own strategy mechanism (:class:`FormatString`);
- ``enum`` only where the catalog declares it (``enum_fields``, none by default; the MOC
  catalog names its envelope's ``status`` and ``error.code``): a schema must not learn ids,
  titles or other values that differ per run;
- ``maps`` (catalog, per endpoint): objects whose keys are data (``byTheme``) get one
  value schema under ``additionalProperties`` instead of a property per key seen;
- ``additionalProperties`` as the catalog says (default true: extra fields are allowed
  here and reported by the differential checks).

Output is byte-stable: canonical ``anyOf`` order, sorted keys, fixed indentation, and no
run-specific data (no capture time, run id or URL), so capturing an unchanged backend
again and regenerating leaves ``contracts/`` untouched. Memory is bounded by the number of
endpoint x status pairs, not by the cassette's length: samples are folded in one at a
time.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from genson import SchemaBuilder
from genson.schema.strategies import String
from jsonschema import Draft202012Validator

from parity.core import jsonpath
from parity.core.catalog import Catalog, Endpoint
from parity.core.errors import UsageError
from parity.engine.cassette import Recorded, cassette_files, read_cassette

__all__ = [
    "DRAFT",
    "FORMAT_PATTERNS",
    "ContractBuilder",
    "ContractsReport",
    "EndpointRules",
    "FormatString",
    "build_contracts",
    "contract_dir_name",
    "contract_path",
    "dump_schema",
    "infer_body_schema",
    "length_class",
    "media_type",
    "text_schema",
]

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_DESCRIPTION = (
    "Inferred from recorded responses by `parity contracts`; regenerate, do not edit by hand."
)

#: Formats inferred when every string sample matches (checked strictly at validation).
FORMAT_PATTERNS: dict[str, re.Pattern[str]] = {
    "uuid": re.compile(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ),
    "date-time": re.compile(
        r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
    ),
}


class FormatString(String):
    """GenSON's string strategy plus ``format``: kept while every sample has it."""

    def __init__(self, node_class: Any) -> None:
        super().__init__(node_class)
        self._formats: set[str] | None = None  # None: no sample yet

    def _narrow(self, formats: set[str]) -> None:
        self._formats = formats if self._formats is None else self._formats & formats

    def add_object(self, obj: Any) -> None:
        super().add_object(obj)
        self._narrow({name for name, rx in FORMAT_PATTERNS.items() if rx.fullmatch(obj)})

    def add_schema(self, schema: Any) -> None:
        schema = dict(schema)
        fmt = schema.pop("format", None)
        super().add_schema(schema)
        self._narrow({fmt} if fmt else set())

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = super().to_schema()
        if self._formats:
            schema["format"] = sorted(self._formats)[0]
        return schema


class ContractBuilder(SchemaBuilder):
    """GenSON's builder with :class:`FormatString` ahead of the plain string strategy."""

    EXTRA_STRATEGIES = (FormatString,)


@dataclass(frozen=True)
class EndpointRules:
    """What the catalog says about an endpoint's contract."""

    additional_properties: bool = True
    maps: tuple[str, ...] = ()
    enums: tuple[str, ...] = ()  # the catalog's enum_fields; none without a catalog

    @classmethod
    def from_catalog(cls, catalog: Catalog | None, endpoint: Endpoint | None) -> EndpointRules:
        enums = tuple(catalog.enum_fields) if catalog is not None else cls.enums
        if endpoint is None:
            return cls(enums=enums)
        return cls(endpoint.additional_properties, tuple(endpoint.maps), enums)


# --- schema post-processing -------------------------------------------------------------

_TYPE_KEYWORDS = {
    "object": {"properties", "required", "additionalProperties", "patternProperties"},
    "array": {"items"},
    "string": {"format"},
}


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _flatten(schema: Any) -> Any:
    """Recursively merge ``anyOf`` branches of disjoint types into one schema with a type
    list (``{"type": ["null", "object"], "properties": ...}``): equivalent, since each
    keyword applies to its own type only, and it gives readable validation errors.
    Branches that cannot be merged stay an ``anyOf`` in canonical order."""
    if isinstance(schema, list):
        return [_flatten(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {
        k: _flatten(v) if k in ("items", "additionalProperties", "anyOf") else v
        for k, v in schema.items()
    }
    if "properties" in out:
        out["properties"] = {k: _flatten(v) for k, v in out["properties"].items()}
    branches = out.get("anyOf")
    if not branches:
        return out
    merged: dict[str, Any] = {}
    seen_types: list[str] = []
    for branch in branches:
        types = _types(branch)
        allowed = {"type"}.union(*(_TYPE_KEYWORDS.get(t, set()) for t in types))
        if not types or set(types) & set(seen_types) or set(branch) - allowed:
            out["anyOf"] = sorted(branches, key=_canon)
            return out
        if set(branch) & set(merged) - {"type"}:
            out["anyOf"] = sorted(branches, key=_canon)
            return out
        seen_types += types
        merged.update({k: v for k, v in branch.items() if k != "type"})
    rest = {k: v for k, v in out.items() if k != "anyOf"}
    types = sorted(seen_types)
    return {**rest, **merged, "type": types[0] if len(types) == 1 else types}


def _locate(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The subschema describing ``path`` (``data.items[*].id``), or None."""
    node: Any = schema
    for part in jsonpath.parse(path):
        if not isinstance(node, dict):
            return None
        if isinstance(part, str) and part != "*":
            node = node.get("properties", {}).get(part)
        else:
            node = node.get("items")
    return node if isinstance(node, dict) else None


def _to_map(node: dict[str, Any]) -> None:
    """Turn an object inferred with one property per key into a map of one value schema."""
    values = ContractBuilder.NODE_CLASS()
    for sub in node.pop("properties", {}).values():
        values.add_schema(sub)
    node.pop("required", None)
    if len(values):
        node["additionalProperties"] = _flatten(values.to_schema())


def _set_additional(schema: Any, allowed: bool, maps: list[int]) -> None:
    if isinstance(schema, list):
        for s in schema:
            _set_additional(s, allowed, maps)
        return
    if not isinstance(schema, dict):
        return
    if "object" in _types(schema) and id(schema) not in maps:
        schema.setdefault("additionalProperties", allowed)
    for key in ("items", "anyOf"):
        if key in schema:
            _set_additional(schema[key], allowed, maps)
    for sub in schema.get("properties", {}).values():
        _set_additional(sub, allowed, maps)
    if isinstance(schema.get("additionalProperties"), dict):
        _set_additional(schema["additionalProperties"], allowed, maps)


def _values(doc: Any, path: str) -> list[Any]:
    try:
        found = jsonpath.extract(doc, path)
    except jsonpath.JsonPathError:  # absent here (e.g. no error.code in a success)
        return []
    if "[*]" in path and isinstance(found, list):
        return found
    return [found]


@dataclass
class _Fold:
    """Everything known about one endpoint x status so far (bounded, not the samples)."""

    method: str
    route: str
    status: int
    rules: EndpointRules
    endpoint_id: str | None
    builder: ContractBuilder = field(default_factory=lambda: ContractBuilder(schema_uri=None))
    samples: int = 0
    scenarios: set[str] = field(default_factory=set)
    cassettes: set[str] = field(default_factory=set)
    enum_values: dict[str, set[str]] = field(default_factory=dict)
    #: Bodies that are not JSON: (media type, length class) of each, for a text contract
    #: (used only when no sample of this status is JSON: then they were the odd ones).
    texts: set[tuple[str, str]] = field(default_factory=set)
    text_samples: int = 0
    json_samples: int = 0
    text_seen: tuple[set[str], set[str]] = field(default_factory=lambda: (set(), set()))

    def add_text(self, content_type: str, text: str, scenario: str | None, cassette: str) -> None:
        self.texts.add((media_type(content_type), length_class(text)))
        self.text_samples += 1
        if scenario:
            self.text_seen[0].add(scenario)
        self.text_seen[1].add(cassette)

    def to_text(self) -> None:
        """Make the text samples the fold's samples (no sample of this status was JSON)."""
        self.samples, self.scenarios, self.cassettes = self.text_samples, *self.text_seen

    def add(self, body: Any, scenario: str | None, cassette: str) -> None:
        self.builder.add_object(body)
        self.json_samples += 1
        self._seen(scenario, cassette)
        for path in self.rules.enums:
            for value in _values(body, path):
                if value is None or isinstance(value, str | int | float | bool):
                    self.enum_values.setdefault(path, set()).add(_canon(value))

    def _seen(self, scenario: str | None, cassette: str) -> None:
        self.samples += 1
        if scenario:
            self.scenarios.add(scenario)
        self.cassettes.add(cassette)


def infer_body_schema(samples: Iterable[Any], rules: EndpointRules | None = None) -> dict[str, Any]:
    """The schema of ``samples`` (JSON values) under ``rules``, without the file header."""
    fold = _Fold("GET", "/", 200, rules or EndpointRules(), None)
    for sample in samples:
        fold.add(sample, None, "")
    return _finish(fold)


#: Length classes of a body that is not JSON: stable across captures (a page's exact
#: length changes with every deploy), yet an empty or a truncated answer shows.
_LENGTHS = ((0, "empty"), (256, "short"), (64 * 1024, "long"))


def length_class(text: str) -> str:
    """``empty`` / ``short`` (up to 256 characters) / ``long`` (up to 64 KiB) / ``huge``."""
    size = len(text)
    return next((name for limit, name in _LENGTHS if size <= limit), "huge")


def media_type(content_type: str | None) -> str:
    """``text/html; charset=utf-8`` -> ``text/html`` (``""`` when there is none)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def text_schema(texts: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The contract of bodies that are not JSON: a string, its media type and length
    class when every sample agrees (JSON Schema's ``contentMediaType``)."""
    kinds = sorted(set(texts))
    schema: dict[str, Any] = {"type": "string"}
    types = {t for t, _ in kinds}
    lengths = {n for _, n in kinds}
    if len(types) == 1 and next(iter(types)):
        schema["contentMediaType"] = next(iter(types))
    schema["x-parity-length"] = sorted(lengths)
    return schema


def _finish(fold: _Fold) -> dict[str, Any]:
    if fold.texts and not fold.json_samples:
        return text_schema(fold.texts)
    schema: dict[str, Any] = _flatten(fold.builder.to_schema())
    maps: list[int] = []
    for path in fold.rules.maps:
        node = _locate(schema, path)
        if node is not None and "object" in _types(node):
            _to_map(node)
            maps.append(id(node))
    for path, values in fold.enum_values.items():
        node = _locate(schema, path) if path else schema
        if node is not None:
            node["enum"] = [json.loads(v) for v in sorted(values)]
    _set_additional(schema, fold.rules.additional_properties, maps)
    return schema


# --- files ------------------------------------------------------------------------------


def contract_dir_name(method: str, route: str) -> str:
    """``GET /api/mocs/{mocId}`` -> ``GET_api_mocs_{mocId}`` (flat, readable)."""
    return f"{method.upper()}_{route.strip('/').replace('/', '_')}"


def contract_path(root: Path, method: str, route: str, status: int) -> Path:
    return Path(root) / contract_dir_name(method, route) / f"{status}.json"


def dump_schema(schema: dict[str, Any]) -> str:
    """The file text: sorted keys, two-space indent, trailing newline (byte-stable)."""
    return json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _document(fold: _Fold) -> dict[str, Any]:
    name = contract_dir_name(fold.method, fold.route)
    body = _finish(fold)
    meta: dict[str, Any] = {
        "cassettes": sorted(fold.cassettes),
        "method": fold.method,
        "route": fold.route,
        "samples": fold.samples,
        "scenarios": sorted(fold.scenarios),
        "status": fold.status,
    }
    if fold.endpoint_id:
        meta["endpoint"] = fold.endpoint_id
    doc = {
        "$schema": DRAFT,
        "$id": f"urn:parity:contracts:{quote(name, safe='')}:{fold.status}",
        "title": f"{fold.method} {fold.route} -> {fold.status}",
        "description": _DESCRIPTION,
        "x-parity": meta,
    }
    doc.update(body)
    Draft202012Validator.check_schema(doc)  # a bug here must not reach contracts/
    return doc


@dataclass
class ContractsReport:
    out: Path
    written: list[Path] = field(default_factory=list)  # created or changed
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # stale: no sample any more
    samples: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason: count

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def _fold_cassettes(
    cassettes: Iterable[Path], catalog: Catalog | None, backend: str, report: ContractsReport
) -> dict[tuple[str, str, int], _Fold]:
    folds: dict[tuple[str, str, int], _Fold] = {}
    rules: dict[tuple[str, str], tuple[EndpointRules, str | None]] = {}
    for cassette in cassettes:
        for record in read_cassette(cassette):
            if not _usable(record, backend, report):
                continue
            key = (record.method, record.route)
            if key not in rules:
                endpoint = catalog.find(*key) if catalog is not None else None
                rules[key] = (
                    EndpointRules.from_catalog(catalog, endpoint),
                    endpoint.id if endpoint else record.endpoint,
                )
            fold_key = (record.method, record.route, record.status)
            if fold_key not in folds:
                folds[fold_key] = _Fold(record.method, record.route, record.status, *rules[key])
            scenario = (
                f"{record.endpoint}/{record.scenario}"
                if record.endpoint and record.scenario
                else record.scenario
            )
            if record.is_json:
                folds[fold_key].add(record.body, scenario, cassette.name)
            else:  # text, HTML, an empty body, a file: a contract of its own kind
                headers = record.response.get("headers") or {}
                ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
                text = str(record.response.get("text") or "")
                folds[fold_key].add_text(str(ctype), text, scenario, cassette.name)
            report.samples += 1
    return folds


def _usable(record: Recorded, backend: str, report: ContractsReport) -> bool:
    if record.backend != backend:
        report.skipped[f"recorded on {record.backend}, not {backend}"] += 1
        return False
    if record.expected and record.status not in record.expected:
        report.skipped["a status the catalog does not expect (see `parity capture`)"] += 1
        return False
    return True


def build_contracts(
    cassettes_dir: Path,
    out: Path,
    *,
    catalog: Catalog | None = None,
    backend: str = "express",
    write: bool = True,
) -> ContractsReport:
    """Infer every endpoint x status of the cassettes in ``cassettes_dir`` into ``out``.

    ``out`` belongs to this function: schema files it did not produce this time are
    removed. With ``write=False`` nothing is touched and the report says what would change
    (``parity contracts --check``).
    """
    cassettes_dir, out = Path(cassettes_dir), Path(out)
    files = cassette_files(cassettes_dir)
    if not files:
        raise UsageError(
            "no cassettes (*.jsonl) to infer contracts from",
            path=cassettes_dir,
            hint="Record them first: `parity capture` (or give --cassettes DIR)",
        )
    report = ContractsReport(out=out)
    folds = _fold_cassettes(files, catalog, backend, report)
    if not folds:
        raise UsageError(
            f"the cassettes hold no usable {backend} exchange",
            path=cassettes_dir,
            hint=f"Capture from {backend} (`parity capture --backend {backend}`)",
        )
    names: dict[str, str] = {}
    produced: set[Path] = set()
    for fold in folds.values():
        if not fold.json_samples:
            fold.to_text()  # every answer of this status was text, HTML, empty or a file
        elif fold.text_samples:  # JSON answers, and some that were not: those are the odd ones
            report.skipped["not JSON where the other answers of its status are"] += (
                fold.text_samples
            )
            report.samples -= fold.text_samples
    for (method, route, status), fold in sorted(folds.items()):
        name = contract_dir_name(method, route)
        if names.setdefault(name, f"{method} {route}") != f"{method} {route}":
            raise UsageError(
                f"{names[name]} and {method} {route} would share the contract folder {name}",
                hint="Rename one of the routes in the catalog",
            )
        path = contract_path(out, method, route, status)
        text = dump_schema(_document(fold))
        produced.add(path)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            report.unchanged.append(path)
            continue
        report.written.append(path)
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
    for stale in sorted(out.glob("*/*.json")) if out.is_dir() else []:
        if stale not in produced and re.fullmatch(r"\d{3}\.json", stale.name):
            report.removed.append(stale)
            if write:
                stale.unlink()
                if not any(stale.parent.iterdir()):
                    stale.parent.rmdir()
    return report
