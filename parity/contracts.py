"""Contract checks: a live response validated against its schema under ``contracts/``.

:class:`ContractStore` loads the schemas :mod:`parity.infer` wrote (a file that is not
JSON, or not a valid draft 2020-12 schema, is a :class:`~parity.errors.ContractError`
naming the file and the line or place). :func:`check_response` validates one answer with
``Draft202012Validator`` and a format checker that really checks ``uuid`` and
``date-time`` (jsonschema skips ``date-time`` silently without an optional package), and
returns a :class:`ContractOutcome`: its :meth:`~ContractOutcome.block` is the readable
failure (endpoint, status, JSON path, expected, actual), its
:meth:`~ContractOutcome.to_result` the :class:`~parity.results.CheckResult` for the matrix.

API Gateway answers some requests itself, before any Lambda runs, with ``{"message":
...}`` only (moc-api.md, "Gateway-originated responses"). Such an answer on a backend
behind a gateway is recognised by its shape *and* its message (the gateway's fixed
texts): when the contract has the status, it is not an application drift (the frontend
copes with both shapes) and passes with ``origin="gateway"``; when it does not, it fails
as gateway-originated. A ``{"message": ...}`` body with any other text is the application
dropping its envelope, and is reported as an application drift.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from parity.errors import ContractError
from parity.infer import contract_path
from parity.redact import redact
from parity.results import CheckResult, Origin, Severity, State

__all__ = [
    "DEFAULT_CONTRACTS_DIR",
    "FORMAT_CHECKER",
    "GATEWAY_BACKENDS",
    "GATEWAY_MESSAGES",
    "REGENERATE_HINT",
    "Contract",
    "ContractOutcome",
    "ContractStore",
    "Violation",
    "body_shape",
    "check_response",
    "load_contract",
]

DEFAULT_CONTRACTS_DIR = Path("contracts/schemas")
REGENERATE_HINT = "Record and infer it: `parity capture && parity contracts`"
#: Backends that sit behind API Gateway and may answer in its shape.
GATEWAY_BACKENDS = frozenset({"serverless"})
#: The texts API Gateway (HTTP and REST APIs) answers with when it rejects a request itself.
GATEWAY_MESSAGES = frozenset(
    {
        "Unauthorized",
        "Forbidden",
        "Missing Authentication Token",
        "Not Found",
        "Request Entity Too Large",
        "Too Many Requests",
        "Internal Server Error",
        "Bad Gateway",
        "Service Unavailable",
        "Gateway Timeout",
        "Endpoint request timed out",
    }
)
_MAX_LISTED = 15
_EVIDENCE_LIMIT = 16_000

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})")

FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("uuid")
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_UUID.fullmatch(value))


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    try:  # the shape is right; are the numbers a real moment? (no 2024-13-45)
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


# --- loading ----------------------------------------------------------------------------


@dataclass
class Contract:
    path: Path
    schema: dict[str, Any]
    validator: Draft202012Validator

    @property
    def title(self) -> str:
        return str(self.schema.get("title", self.path))


def _json_path(parts: Iterable[Any]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def load_contract(path: Path) -> Contract:
    """Read and check one schema file; raises :class:`ContractError` naming file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError(
            f"cannot read the schema ({exc})", path=path, hint=REGENERATE_HINT
        ) from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError(
            f"not valid JSON ({exc.msg})",
            path=path,
            location=f"line {exc.lineno}, column {exc.colno}",
            hint="Regenerate it with `parity contracts` (schemas are not edited by hand)",
        ) from None
    if not isinstance(schema, dict):
        raise ContractError("a schema must be a JSON object", path=path, location="line 1")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise ContractError(
            f"not a valid draft 2020-12 schema: {exc.message}",
            path=path,
            location=_json_path(exc.absolute_path),
            hint="Regenerate it with `parity contracts`",
        ) from None
    return Contract(path, schema, Draft202012Validator(schema, format_checker=FORMAT_CHECKER))


class ContractStore:
    """The schemas under ``root`` (``contracts/schemas``), loaded on first use."""

    def __init__(self, root: Path = DEFAULT_CONTRACTS_DIR) -> None:
        self.root = Path(root)
        self._loaded: dict[Path, Contract | None] = {}

    def path_for(self, method: str, route: str, status: int) -> Path:
        return contract_path(self.root, method, route, status)

    def get(self, method: str, route: str, status: int) -> Contract | None:
        path = self.path_for(method, route, status)
        if path not in self._loaded:
            self._loaded[path] = load_contract(path) if path.is_file() else None
        return self._loaded[path]

    def statuses(self, method: str, route: str) -> list[int]:
        folder = self.path_for(method, route, 200).parent
        return sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())

    def check_all(self) -> list[Path]:
        """Load every schema (raising on the first bad one); returns their paths."""
        paths = sorted(self.root.glob("*/*.json"))
        for path in paths:
            self._loaded[path] = load_contract(path)
        return paths


# --- validation -------------------------------------------------------------------------

Shape = Literal["envelope", "gateway", "message-only", "other", "not-json"]


def body_shape(body: Any, is_json: bool = True) -> Shape:
    """``gateway``: ``{"message": <one of API Gateway's texts>}``; ``message-only``: the
    same shape with another text; ``envelope``: has ``status`` and ``message``."""
    if not is_json:
        return "not-json"
    if isinstance(body, dict) and set(body) == {"message"} and isinstance(body["message"], str):
        return "gateway" if body["message"] in GATEWAY_MESSAGES else "message-only"
    if isinstance(body, dict) and "status" in body and "message" in body:
        return "envelope"
    return "other"


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{text} ({_type_name(value)})"


@dataclass
class Violation:
    path: str  # "$.data.items[*].pieceCount"
    problem: str  # "missing", "wrong type", ...
    expected: str
    actual: str
    keyword: str
    count: int = 1  # how many list elements showed the same problem

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "problem": self.problem,
            "expected": self.expected,
            "actual": self.actual,
            "keyword": self.keyword,
            "count": self.count,
        }


def _similar(name: str, candidates: Iterable[str]) -> str | None:
    def norm(s: str) -> str:
        return s.lower().replace("_", "").replace("-", "")

    for other in candidates:
        if norm(other) == norm(name):
            return other
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return close[0] if close else None


def _violations(error: ValidationError) -> list[Violation]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _violations(best_match(error.context))
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    kind = str(error.validator)
    if kind == "required" and isinstance(instance, dict):
        props = set(schema.get("properties", {}))
        extra = [k for k in instance if k not in props]
        # one error per missing property; its name is in the message, quoted by repr()
        named = re.match(r"^(['\"])(.*)\1 is a required property", error.message)
        names = [named.group(2)] if named else error.validator_value
        out = []
        for name in names:
            if name in instance:
                continue
            renamed = _similar(name, extra)
            actual = "absent"
            if renamed:
                actual += f" (the object has an unexpected {renamed!r}: renamed?)"
            out.append(
                Violation(_json_path([*path, name]), "missing", "a required field", actual, kind)
            )
        return out
    if kind == "additionalProperties" and isinstance(instance, dict):
        props = set(schema.get("properties", {}))
        return [
            Violation(
                _json_path([*path, k]),
                "unexpected field",
                "no fields beyond " + ", ".join(sorted(props)),
                _show(instance[k]),
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
        return [Violation(_json_path(path), "wrong type", expected, _show(instance), kind)]
    if kind == "format":
        return [
            Violation(
                _json_path(path),
                "wrong format",
                f"a {error.validator_value} string",
                _show(instance),
                kind,
            )
        ]
    if kind == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        return [
            Violation(
                _json_path(path), "value not allowed", f"one of {allowed}", _show(instance), kind
            )
        ]
    return [Violation(_json_path(path), kind, error.message, _show(instance), kind)]


def _grouped(violations: list[Violation]) -> list[Violation]:
    """Collapse list elements with the same problem: ``$.data.items[*].x (20 items)``."""
    groups: dict[tuple[str, str, str], Violation] = {}
    for v in violations:
        generic = re.sub(r"\[\d+\]", "[*]", v.path)
        key = (generic, v.problem, v.expected)
        if key in groups:
            groups[key].count += 1
        else:
            groups[key] = Violation(generic, v.problem, v.expected, v.actual, v.keyword)
    return list(groups.values())


_BREAKING = {"required", "type", "format", "enum", "const"}


@dataclass
class ContractOutcome:
    endpoint: str  # "GET /api/mocs/{mocId}"
    status: int
    backend: str
    state: State
    scenario: str | None = None
    origin: Origin | None = None
    schema_path: Path | None = None
    violations: list[Violation] = field(default_factory=list)
    note: str = ""  # one sentence: what this outcome means
    shape: Shape = "other"
    body: Any = None
    url: str | None = None

    @property
    def failed(self) -> bool:
        return self.state not in ("pass", "accepted", "skipped")

    @property
    def severity(self) -> Severity | None:
        if not self.failed:
            return None
        if self.violations and all(v.keyword == "additionalProperties" for v in self.violations):
            return "additive"
        return "breaking"

    def summary(self) -> str:
        if self.violations:
            first = self.violations[0]
            more = f" (+{len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
            return f"{first.path}: {first.problem}; expected {first.expected}{more}"
        return self.note

    def block(self) -> str:
        """The readable failure: what, where, and each JSON path with expected/actual."""
        where = f" ({self.scenario})" if self.scenario else ""
        lines = [f"contract: {self.endpoint} -> {self.status} on {self.backend}{where}"]
        if self.schema_path is not None:
            lines.append(f"  schema: {self.schema_path}")
        if self.origin:
            lines.append(f"  origin: {self.origin}")
        if self.note:
            lines.append(f"  {self.note}")
        for v in self.violations[:_MAX_LISTED]:
            count = f" ({v.count} elements)" if v.count > 1 else ""
            lines.append(f"  {v.path}: {v.problem}{count}")
            lines.append(f"      expected: {v.expected}")
            lines.append(f"      actual:   {v.actual}")
        if len(self.violations) > _MAX_LISTED:
            lines.append(f"  ... and {len(self.violations) - _MAX_LISTED} more")
        return "\n".join(lines)

    def to_result(self) -> CheckResult:
        body = redact(self.body)
        text = json.dumps(body, ensure_ascii=False)
        evidence: dict[str, Any] = {
            "status": self.status,
            "shape": self.shape,
            "schema": str(self.schema_path) if self.schema_path else None,
            "violations": [v.to_dict() for v in self.violations],
            "url": redact(self.url) if self.url else None,
            "response": body if len(text) <= _EVIDENCE_LIMIT else text[:_EVIDENCE_LIMIT] + "...",
        }
        return CheckResult(
            endpoint=self.endpoint,
            check="contract",
            state=self.state,
            summary=self.summary(),
            backend=self.backend,
            scenario=self.scenario,
            origin=self.origin,
            severity=self.severity,
            evidence=evidence,
        )


def check_response(
    store: ContractStore,
    *,
    method: str,
    route: str,
    status: int,
    body: Any,
    backend: str,
    is_json: bool = True,
    text: str | None = None,
    scenario: str | None = None,
    expected: Iterable[int] = (),
    url: str | None = None,
    gateway_backends: Iterable[str] = GATEWAY_BACKENDS,
) -> ContractOutcome:
    """Validate one answer against the contract of ``method route -> status``."""
    endpoint = f"{method.upper()} {route}"
    contract = store.get(method, route, status)
    shape = body_shape(body, is_json)
    from_gateway = shape == "gateway" and backend in set(gateway_backends)
    out = ContractOutcome(
        endpoint,
        status,
        backend,
        "pass",
        scenario,
        schema_path=store.path_for(method, route, status),
        shape=shape,
        body=body if is_json else text,
        url=url,
    )
    if from_gateway:
        out.origin = "gateway"
    if contract is None:
        known = store.statuses(method, route)
        if from_gateway:
            out.state = "drift"
            out.note = (
                f"gateway-originated: API Gateway answered {status} {json.dumps(body)} itself "
                f"(the request never reached the application); the contract has "
                f"{_statuses(known)}"
            )
        elif status in set(expected) or not known:
            out.state = "error"
            out.note = f"no contract for this status in {store.root}. {REGENERATE_HINT}"
        else:
            out.state = "drift"
            out.origin = "application"
            out.note = (
                f"status {status} has no contract: the recorded backend answered "
                f"{_statuses(known)} for this endpoint"
            )
        return out
    out.schema_path = contract.path
    if not is_json:
        out.state, out.origin = "drift", "application"
        out.violations = [
            Violation("$", "not JSON", "a JSON body", repr((text or "")[:80]), "type")
        ]
        return out
    errors = sorted(contract.validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if not errors:
        return out
    if from_gateway:
        out.note = (
            f"gateway-originated: API Gateway answered {status} {json.dumps(body)} itself, in "
            "its own shape (the frontend handles both shapes); the application contract does "
            "not apply"
        )
        return out  # pass, with origin "gateway" recorded
    out.state, out.origin = "drift", "application"
    out.violations = _grouped([v for e in errors for v in _violations(e)])
    if shape == "message-only":
        out.note = (
            f"the body has API Gateway's shape ({json.dumps(body)}) but not one of its "
            "messages: the application answered without its envelope"
        )
    elif shape == "gateway":
        out.note = (
            f"a gateway-shaped body ({json.dumps(body)}) from {backend}, which has no gateway"
        )
    return out


def _statuses(known: list[int]) -> str:
    return ", ".join(map(str, known)) if known else "no status at all"
