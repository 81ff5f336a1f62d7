"""Contract checks: a live response validated against its schema under ``contracts/``.

:class:`ContractStore` loads the schemas :mod:`parity.engine.infer` wrote (a file that is not
JSON, or not a valid draft 2020-12 schema, is a :class:`~parity.core.errors.ContractError`
naming the file and the line or place). :func:`check_response` validates one answer with
``Draft202012Validator`` and a format checker that really checks ``uuid`` and
``date-time`` (jsonschema skips ``date-time`` silently without an optional package), and
returns a :class:`ContractOutcome`: its :meth:`~ContractOutcome.block` is the readable
failure (endpoint, status, JSON path, expected, actual), its
:meth:`~ContractOutcome.to_result` the :class:`~parity.core.results.CheckResult` for the matrix.

A gateway in front of a backend may answer some requests itself, before the application
runs (API Gateway's ``{"message": ...}`` only, moc-api.md, "Gateway-originated
responses"). Which answers are a gateway's is the catalog's to declare (its top-level
``envelope.gateway``: keys, texts, backends, statuses; ``check_response(gateway=...)``),
never the code's: none declared, no answer is a gateway's. Such an answer, from a backend
and with a status the declaration allows, is recognised by its shape *and* its text and
reported as ``origin="gateway"``, "gateway-originated", never as an application drift;
like any difference it fails unless ``parity-baseline.toml`` accepts it (check
``contract``), which is where the team records the shapes the frontend copes with. A body
with the gateway's keys and any other text is the application dropping its envelope: an
application drift.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker

from parity.core.envelope import Gateway
from parity.core.errors import ContractError
from parity.core.inputs import parse_json, read_text
from parity.core.redact import redact
from parity.core.results import CheckResult, Origin, Severity, State
from parity.engine.baseline import BASELINE_KEY, Baseline
from parity.engine.infer import FORMAT_PATTERNS, contract_path, length_class, media_type
from parity.engine.violations import (
    Violation,
    check_schema,
    grouped,
    json_path,
    show,
    violations_of,
)

__all__ = [
    "DEFAULT_CONTRACTS_DIR",
    "FORMAT_CHECKER",
    "KEYWORDS",
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
_MAX_LISTED = 15
_EVIDENCE_LIMIT = 16_000

# The same patterns inference used to decide on a format.
_UUID = FORMAT_PATTERNS["uuid"]
_RFC3339 = FORMAT_PATTERNS["date-time"]

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


def load_contract(path: Path) -> Contract:
    """Read and check one schema file; raises :class:`ContractError` naming file and line.

    Unknown keywords are errors (with the nearest known one), although JSON Schema itself
    ignores them: a misspelt ``"typ"`` would silently accept anything.
    """
    path = Path(path)
    regenerate = "Regenerate it with `parity contracts` (schemas are not edited by hand)"
    text = read_text(path, "contract", ContractError, hint=REGENERATE_HINT)
    schema = parse_json(text, path, ContractError, hint=regenerate)
    if not isinstance(schema, dict):
        raise ContractError(
            "a schema must be a JSON object", path=path, location="line 1", hint=regenerate
        )
    fix = "Regenerate it with `parity contracts`"
    check_schema(schema, path, ContractError, fix=fix, hint=regenerate)
    _check_keywords(path, schema, [])
    return Contract(path, schema, Draft202012Validator(schema, format_checker=FORMAT_CHECKER))


#: Every draft 2020-12 keyword (validation and annotation); "x-" keys are extensions.
KEYWORDS = frozenset(Draft202012Validator.VALIDATORS) | {
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$defs", "$comment", "$vocabulary",
    "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
    "contentMediaType", "contentEncoding", "contentSchema", "definitions",
}  # fmt: skip
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "items", "additionalProperties", "not", "if", "then", "else", "contains",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
)  # fmt: skip


def _check_keywords(path: Path, schema: Any, where: list[Any]) -> None:
    if not isinstance(schema, dict):
        return
    for key in schema:
        if key not in KEYWORDS and not str(key).startswith("x-"):
            close = difflib.get_close_matches(str(key), sorted(KEYWORDS), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else "Remove it"
            raise ContractError(
                f"unknown schema keyword {key!r}",
                path=path,
                location=json_path([*where, key]),
                hint=f"{hint} (or regenerate the schema with `parity contracts`)",
            )
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for name, sub in schema[key].items():
                _check_keywords(path, sub, [*where, key, name])
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            for i, sub in enumerate(schema[key]):
                _check_keywords(path, sub, [*where, key, i])
    for key in _SCHEMA_ONE:
        _check_keywords(path, schema.get(key), [*where, key])


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


def body_shape(body: Any, is_json: bool = True, gateway: Gateway | None = None) -> Shape:
    """``gateway``: the declared gateway's own answer (``gateway``, the catalog's
    ``envelope.gateway``; None: no answer is); ``message-only``: the gateway's keys with
    another text; ``envelope``: has ``status`` and ``message``."""
    if not is_json:
        return "not-json"
    if gateway is not None and isinstance(body, dict) and set(body) == set(gateway.keys):
        return "gateway" if gateway.matches(body) else "message-only"
    if isinstance(body, dict) and "status" in body and "message" in body:
        return "envelope"
    return "other"


@dataclass
class ContractOutcome:
    """The verdict on one answer. ``state``: pass, drift, accepted (every violation is in
    the baseline), or error (no contract to check against)."""

    endpoint: str  # "GET /api/items/{itemId}"
    status: int
    backend: str
    state: State = "pass"
    scenario: str | None = None
    origin: Origin | None = None
    schema_path: Path | None = None
    violations: list[Violation] = field(default_factory=list)
    note: str = ""  # one sentence: what this outcome means
    shape: Shape = "other"
    body: Any = None
    url: str | None = None
    baseline_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.state in ("drift", "error", "missing")

    @property
    def severity(self) -> Severity | None:
        if self.state == "pass" or not self.violations:
            return None
        if all(v.keyword == "additionalProperties" for v in self.violations):
            return "additive"
        return "breaking"

    def apply_baseline(self, baseline: Baseline | None, today: date | None = None) -> None:
        """Accept the violations an active ``parity-baseline.toml`` entry (check
        ``contract``) covers; all accepted -> state ``accepted`` (shown, never green)."""
        if baseline is None or not self.violations:
            return
        diffs = [v.difference() for v in self.violations]
        self.baseline_ids = baseline.apply(
            self.endpoint, "contract", diffs, status=self.status, today=today
        )
        for violation, diff in zip(self.violations, diffs, strict=True):
            violation.accepted_by, violation.note = diff.accepted_by, diff.note
        if self.state == "drift" and all(v.accepted_by for v in self.violations):
            self.state = "accepted"

    def summary(self) -> str:
        open_ = [v for v in self.violations if not v.accepted_by] or self.violations
        if open_:
            first = open_[0]
            more = f" (+{len(open_) - 1} more)" if len(open_) > 1 else ""
            accepted = f" [accepted: {first.accepted_by}]" if first.accepted_by else ""
            return f"{first.path}: {first.problem}; expected {first.expected}{more}{accepted}"
        return self.note

    def block(self) -> str:
        """The readable failure: what, where, and each JSON path with expected/actual."""
        where = f" [{self.scenario}]" if self.scenario else ""
        lines = [
            f"contract: {self.endpoint} -> {self.status} on {self.backend}{where}: {self.state}"
        ]
        if self.schema_path is not None:
            lines.append(f"  schema: {_display(self.schema_path)}")
        if self.origin:
            lines.append(f"  origin: {self.origin}")
        if self.note:
            lines.append(f"  {self.note}")
        for v in self.violations[:_MAX_LISTED]:
            count = f" ({v.count} elements)" if v.count > 1 else ""
            accepted = f" [accepted by baseline entry {v.accepted_by!r}]" if v.accepted_by else ""
            lines.append(f"  {v.path}: {v.problem}{count}{accepted}")
            lines.append(f"      expected: {v.expected}")
            lines.append(f"      actual:   {v.actual}")
            if v.note:
                lines.append(f"      note:     {v.note}")
        if len(self.violations) > _MAX_LISTED:
            lines.append(f"  ... and {len(self.violations) - _MAX_LISTED} more")
        return "\n".join(lines)

    def to_result(self) -> CheckResult:
        body = redact(self.body)
        text = json.dumps(body, ensure_ascii=False)
        evidence: dict[str, Any] = {
            "status": self.status,
            "shape": self.shape,
            "schema": _display(self.schema_path) if self.schema_path else None,
            "violations": [v.to_dict() for v in self.violations],
            "url": redact(self.url) if self.url else None,
            "response": body if len(text) <= _EVIDENCE_LIMIT else text[:_EVIDENCE_LIMIT] + "...",
            "note": self.note,
        }
        if self.baseline_ids:
            evidence[BASELINE_KEY] = list(self.baseline_ids)
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


def _expected_shape(schema: dict[str, Any]) -> str:
    required = schema.get("required")
    if isinstance(required, list) and required:
        return "the contract's body (with " + ", ".join(map(str, required)) + ")"
    return "the contract's body"


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
    gateway: Gateway | None = None,
    content_type: str | None = None,
) -> ContractOutcome:
    """Validate one answer against the contract of ``method route -> status``;
    ``gateway``: the catalog's declared gateway answers (its ``envelope.gateway``; None:
    none, no answer is a gateway's)."""
    endpoint = f"{method.upper()} {route}"
    contract = store.get(method, route, status)
    shape = body_shape(body, is_json, gateway)
    from_gateway = shape == "gateway" and gateway is not None and gateway.allows(backend, status)
    out = ContractOutcome(
        endpoint,
        status,
        backend,
        scenario=scenario,
        schema_path=contract.path if contract else store.path_for(method, route, status),
        shape=shape,
        body=body if is_json else text,
        url=url,
    )
    known = store.statuses(method, route)
    if contract is None and not from_gateway and (status in set(expected) or not known):
        out.state = "error"
        out.note = f"no contract for this status under {store.root}. {REGENERATE_HINT}"
        return out
    if from_gateway:
        # Recognised before validating: the request never reached the application, so
        # this is the gateway's answer, not an application drift.
        if contract is not None and not list(contract.validator.iter_errors(body)):
            out.origin = "gateway"
            return out
        wanted = _expected_shape(contract.schema) if contract else f"status {_statuses(known)}"
        out.state, out.origin = "drift", "gateway"
        out.note = (
            f"gateway-originated: the gateway answered {status} {json.dumps(body)} itself, "
            "in its own shape; the request never reached the application"
        )
        out.violations = [
            Violation("$", "gateway-originated", wanted, show(body), "gateway", origin="gateway")
        ]
        return out
    out.origin = "application"
    if contract is None:
        out.state = "drift"
        out.note = f"the recorded backend answered {_statuses(known)} here, never {status}"
        out.violations = [
            Violation("status", "no contract", f"one of {_statuses(known)}", str(status), "status")
        ]
        return out
    if contract.schema.get("type") == "string":  # the recorded answer is not JSON
        return _check_text(out, contract.schema, is_json, text, content_type)
    if not is_json:
        out.state = "drift"
        actual = repr((text or "")[:80])
        out.violations = [Violation("$", "not JSON", "a JSON body", actual, "type")]
        return out
    errors = sorted(contract.validator.iter_errors(body), key=lambda e: json_path(e.absolute_path))
    if not errors:
        out.origin = None
        return out
    out.state = "drift"
    out.violations = grouped([v for e in errors for v in violations_of(e)])
    if shape == "message-only":
        out.note = (
            f"the body has the gateway's shape ({json.dumps(body)}) but not one of its "
            "messages: the application answered without its envelope"
        )
    elif shape == "gateway":
        out.note = (
            f"a gateway-shaped body ({json.dumps(body)}) from {backend} with {status}, "
            "which the catalog's envelope.gateway does not allow"
        )
    return out


def _check_text(
    out: ContractOutcome,
    schema: Mapping[str, Any],
    is_json: bool,
    text: str | None,
    content_type: str | None,
) -> ContractOutcome:
    """A text contract (the recorded answer was text, HTML, empty or a file): the body is
    not JSON, of the recorded media type and length class."""
    wanted_type = schema.get("contentMediaType")
    lengths = list(schema.get("x-parity-length") or [])
    found: list[Violation] = []
    if is_json:
        found.append(Violation("$", "JSON", f"a {wanted_type or 'text'} body", "JSON", "type"))
    else:
        got_type = media_type(content_type)
        if wanted_type and got_type != wanted_type:
            found.append(
                Violation("content-type", "media type", wanted_type, got_type or "none", "type")
            )
        got_length = length_class(text or "")
        if lengths and got_length not in lengths:
            found.append(Violation("$", "length", " or ".join(lengths), got_length, "value"))
    if found:
        out.state, out.violations = "drift", found
    else:
        out.origin = None
    return out


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (shorter, and the
    same on every machine)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _statuses(known: list[int]) -> str:
    return ", ".join(map(str, known)) if known else "no status at all"
