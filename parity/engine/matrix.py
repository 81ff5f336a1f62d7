"""The parity matrix: every (endpoint, check) cell of a run, built from the checks' records.

Records (:class:`~parity.core.results.CheckResult`, one per check, scenario and backend) are
grouped by (endpoint, check); the worst state wins (``error`` > ``missing`` > ``drift`` >
``accepted`` > ``not-testable`` > ``skipped`` > ``pass``), and the cell keeps the worst
record's evidence plus every record's one-line verdict. Grouping and ordering depend only on
the records' content, so a parallel run (pytest-xdist) builds the same cells as a serial one.

Above the cells, the findings (:mod:`parity.engine.findings`): the differences grouped by cause
across endpoints and checks, each with what to do. The summary counts them.

The document is versioned (``schema_version``); :data:`MATRIX_SCHEMA` is its JSON Schema.
Version 2 added ``findings`` (and ``summary.findings``); a version 1 file still loads, its
findings rebuilt from its cells.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from parity.core.errors import UsageError
from parity.core.inputs import parse_json, read_text
from parity.core.results import STATES, CheckResult
from parity.engine.findings import FINDING_STATES, build_findings, findings_summary

__all__ = [
    "CHECK_ORDER",
    "FAILING",
    "JUDGED",
    "MATRIX_SCHEMA",
    "SCHEMA_VERSION",
    "STATE_RANK",
    "SUPPORTED_VERSIONS",
    "MatrixError",
    "build_matrix",
    "load_matrix",
    "resource_of",
    "worst_state",
    "write_json",
]

SCHEMA_VERSION = 2
#: Versions :func:`load_matrix` reads (1: before findings; they are rebuilt from the cells).
SUPPORTED_VERSIONS = (1, 2)

#: Worse states rank higher: the cell shows the worst of its records.
STATE_RANK: dict[str, int] = {
    "pass": 0,
    "not-applicable": 1,  # the check has nothing to judge here: any other record says more
    "skipped": 1,
    "not-testable": 2,
    "accepted": 3,
    "drift": 4,
    "missing": 5,
    "error": 6,
}
FAILING = frozenset({"drift", "missing", "error"})
#: Verdicts that are not failures: a cell in one of them judged its endpoint.
JUDGED = frozenset({"pass", "accepted"})
#: Column order of the well-known checks; any other check follows, alphabetically.
CHECK_ORDER: tuple[str, ...] = (
    "catalog",
    "status",
    "headers",
    "envelope",
    "consistency",
    "search-lag",
    "cache",
)


class MatrixError(UsageError):
    """A matrix file that cannot be read or does not follow the schema."""


def worst_state(states: Iterable[str]) -> str:
    return max(states, key=lambda s: STATE_RANK.get(s, 0), default="pass")


def resource_of(endpoint: str) -> str:
    """``GET /api/mocs/{mocId}`` -> ``mocs``: the first path segment that is not ``api``
    or a version (``v1``) or a parameter."""
    path = endpoint.split(" ", 1)[-1]
    for segment in path.strip("/").split("/"):
        version = segment[:1] == "v" and segment[1:].isdigit()
        if segment and segment != "api" and not segment.startswith("{") and not version:
            return segment
    return "(root)"


def _check_key(check: str) -> tuple[int, str]:
    return (CHECK_ORDER.index(check), "") if check in CHECK_ORDER else (len(CHECK_ORDER), check)


def _record_key(r: CheckResult) -> tuple[str, str, str, str]:
    return (r.scenario or "", r.backend or "", r.state, r.test_id or "")


def _cell(endpoint: str, check: str, records: list[CheckResult]) -> dict[str, Any]:
    records = sorted(records, key=_record_key)
    worst = max(records, key=lambda r: STATE_RANK.get(r.state, 0))  # the first of the worst
    return {
        "endpoint": endpoint,
        "check": check,
        "resource": resource_of(endpoint),
        "state": worst.state,
        "origin": worst.origin,
        "severity": worst.severity,
        "summary": worst.summary,
        "scenario": worst.scenario,
        "backend": worst.backend,
        "evidence": worst.evidence,
        # requests re-sent after a connection-level failure: shown, never hidden
        "retried": sum(len(r.evidence.get("retries") or []) for r in records),
        "records": [
            {
                "scenario": r.scenario,
                "backend": r.backend,
                "state": r.state,
                "origin": r.origin,
                "severity": r.severity,
                "summary": r.summary,
                "test_id": r.test_id,
                "evidence": r.evidence if r is not worst else None,
            }
            for r in records
        ],
    }


def _noise(records: Iterable[CheckResult]) -> list[dict[str, Any]]:
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in records:
        for hit in r.evidence.get("noise", []) or []:
            key = (r.endpoint, hit.get("path", ""), hit.get("source", ""))
            entry = found.setdefault(
                key,
                {
                    "endpoint": r.endpoint,
                    "path": hit.get("path"),
                    "source": hit.get("source"),
                    "kind": hit.get("kind"),
                    "scenarios": [],
                    "example": hit.get("values", [])[:2],
                },
            )
            if r.scenario and r.scenario not in entry["scenarios"]:
                entry["scenarios"].append(r.scenario)
    for entry in found.values():
        entry["scenarios"].sort()
    return [found[k] for k in sorted(found)]


def _measurements(records: Iterable[CheckResult]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        for m in r.evidence.get("measurements", []) or []:
            out.append({"endpoint": r.endpoint, "check": r.check, "scenario": r.scenario, **m})
    return sorted(out, key=lambda m: (m["endpoint"], m["check"], m.get("scenario") or ""))


def _headline(
    counts: Mapping[str, int],
    failing: int,
    outside: Mapping[str, str],
    exit_status: int | None,
) -> str:
    """The one line every reader sees (HTML, and with ``; N failing cell(s)`` after it the
    terminal, ``parity report`` and ``parity demo``). It must agree with the run's exit
    status: failures no cell shows are named, and a failed run never reads as clean (nor
    a run that recorded failures without failing a test)."""
    line = f"{counts['at_parity']} of {counts['endpoints']} endpoints at parity"
    notes = [f"{counts['with_accepted']} with accepted drift"] if counts["with_accepted"] else []
    notes += [f"{counts['not_judged']} not judged"] if counts["not_judged"] else []
    if outside:
        first = next(iter(sorted(outside)))
        more = f" and {len(outside) - 1} more" if len(outside) > 1 else ""
        notes.append(f"{len(outside)} failed test(s) with no cell: {first}{more}")
    elif exit_status not in (None, 0) and not failing:
        notes.append(f"pytest exit status {exit_status}, though no cell failed")
    if failing and exit_status == 0:
        notes.append("failing cells, yet pytest exited 0")
    return line + (f" ({', '.join(notes)})" if notes else "")


def _left_behind(records: Sequence[CheckResult]) -> dict[str, int]:
    """Undeletable resources created, counted once per test (each of its records carries
    the same list)."""
    per_test: dict[str, list[Any]] = {}
    for r in records:
        left = r.evidence.get("left_behind") if isinstance(r.evidence, dict) else None
        if isinstance(left, list) and left:
            per_test.setdefault(r.test_id or f"{r.endpoint} {r.check}", left)
    counts: dict[str, int] = {}
    for left in per_test.values():
        for entry in left:
            name = str(entry.get("resource")) if isinstance(entry, dict) else str(entry)
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def build_matrix(
    records: Iterable[CheckResult],
    *,
    endpoint_order: Sequence[str] = (),
    baseline: Sequence[Mapping[str, Any]] = (),
    meta: Mapping[str, Any] | None = None,
    generated_at: datetime | None = None,
    outside: Mapping[str, str] | None = None,
    exit_status: int | None = None,
) -> dict[str, Any]:
    """The matrix document. ``endpoint_order`` (the catalog's order) sorts the rows; other
    endpoints follow alphabetically. ``baseline`` is the usage of the baseline's entries.
    ``outside`` holds the failed tests no cell shows (node id -> reason) and
    ``exit_status`` pytest's: the headline says when they tell more than the cells."""
    records = list(records)
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for r in records:
        groups.setdefault((r.endpoint, r.check), []).append(r)
    order = {e: i for i, e in enumerate(endpoint_order)}

    def endpoint_key(e: str) -> tuple[int, str, str]:
        method, _, route = e.partition(" ")
        return (order.get(e, len(order)), route, method)

    endpoints = sorted({e for e, _ in groups}, key=endpoint_key)
    checks = sorted({c for _, c in groups}, key=_check_key)
    cells = [_cell(e, c, groups[(e, c)]) for e in endpoints for c in checks if (e, c) in groups]
    rows = []
    at_parity = with_accepted = unjudged = 0
    for e in endpoints:
        states = [cell["state"] for cell in cells if cell["endpoint"] == e]
        state = worst_state(states)
        # every endpoint is exactly one of: at parity, failing, not judged (only skipped,
        # not-testable or any other non-verdict state: never counted as at parity)
        ok = bool(JUDGED & set(states)) and not FAILING & set(states)
        at_parity += int(ok)
        with_accepted += int(ok and "accepted" in states)
        unjudged += int(not (JUDGED | FAILING) & set(states))
        rows.append({"endpoint": e, "resource": resource_of(e), "state": state, "at_parity": ok})
    counts: dict[str, int] = {s: sum(1 for c in cells if c["state"] == s) for s in STATES}
    for other in sorted({c["state"] for c in cells} - set(STATES)):  # never dropped silently
        counts[other] = sum(1 for c in cells if c["state"] == other)
    failing = sum(counts[s] for s in FAILING)
    outside = dict(sorted((outside or {}).items()))
    headline = _headline(
        {"at_parity": at_parity, "endpoints": len(endpoints), "with_accepted": with_accepted,
         "not_judged": unjudged},
        failing,
        outside,
        exit_status,
    )  # fmt: skip
    findings = build_findings(cells, endpoints=endpoints, today=_today(generated_at))
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": (generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "meta": dict(meta or {}),
        "summary": {
            "headline": headline,
            "endpoints": len(endpoints),
            "at_parity": at_parity,
            "with_accepted": with_accepted,
            "not_judged": unjudged,
            "cells": len(cells),
            "states": counts,
            "failing": failing,
            # failed tests that no cell shows, and whether the run as a whole was clean
            "failed_outside": [{"test": t, "reason": r} for t, r in outside.items()],
            "exit_status": exit_status,
            "clean": not failing and not outside and exit_status in (None, 0),
            "stale_baseline": sum(1 for b in baseline if b.get("state") == "stale"),
            "retried_cells": sum(1 for c in cells if c["retried"]),
            # resources the API cannot delete (catalog leaves:), per resource: what the
            # run left on the target, so it never leaks unseen
            "left_behind": _left_behind(records),
            # the differences grouped by cause: what an engineer reads first
            "findings": findings_summary(findings),
        },
        "findings": findings,
        "checks": checks,
        "endpoints": rows,
        "cells": cells,
        "noise": _noise(records),
        "measurements": _measurements(records),
        "baseline": [dict(b) for b in baseline],
    }


def _today(generated_at: datetime | None) -> Any:
    """The day a baseline entry's expiry counts from: the run's."""
    return (generated_at or datetime.now(UTC)).date()


_STATE_ENUM = list(STATES)
_NULLABLE_STR = {"type": ["string", "null"]}

#: JSON Schema (draft 2020-12) of the matrix document, version :data:`SCHEMA_VERSION`.
MATRIX_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "parity matrix",
    "type": "object",
    "required": [
        "schema_version",
        "generated_at",
        "summary",
        "findings",
        "checks",
        "endpoints",
        "cells",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "generated_at": {"type": "string"},
        "meta": {"type": "object"},
        "summary": {
            "type": "object",
            "required": ["headline", "endpoints", "at_parity", "states"],
            "properties": {
                "headline": {"type": "string"},
                "endpoints": {"type": "integer", "minimum": 0},
                "at_parity": {"type": "integer", "minimum": 0},
                "states": {"type": "object"},
                "findings": {
                    "type": "object",
                    "required": ["total", "open", "breaking", "reported", "accepted"],
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
            },
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "rank",
                    "title",
                    "kind",
                    "state",
                    "severity",
                    "origin",
                    "endpoints",
                    "checks",
                    "cells",
                    "first",
                    "action",
                    "baseline",
                ],
                "properties": {
                    "id": {"type": "string", "pattern": "^[A-Z][0-9a-f]{6}$"},
                    "rank": {"type": "integer", "minimum": 1},
                    "title": {"type": "string", "minLength": 1},
                    "kind": {"type": "string", "minLength": 1},
                    "state": {"enum": list(FINDING_STATES)},
                    "severity": {"enum": ["breaking", "additive", "cosmetic", None]},
                    "origin": {"enum": ["gateway", "application", "mixed", None]},
                    "endpoints": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "checks": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "cells": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["endpoint", "check", "scenarios", "states"],
                        },
                    },
                    "first": {"type": "object", "required": ["endpoint", "check"]},
                    "action": {"type": "string", "minLength": 1},
                    # the [[accept]] entries that would accept it (open findings only)
                    "baseline": {"type": ["string", "null"]},
                    "accepted_by": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "checks": {"type": "array", "items": {"type": "string"}},
        "endpoints": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["endpoint", "state"],
                "properties": {
                    "endpoint": {"type": "string"},
                    "state": {"enum": _STATE_ENUM},
                },
            },
        },
        "cells": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["endpoint", "check", "state", "origin", "severity", "evidence"],
                "properties": {
                    "endpoint": {"type": "string", "pattern": "^[A-Z*]+ /"},
                    "check": {"type": "string", "minLength": 1},
                    "state": {"enum": _STATE_ENUM},
                    "origin": {"enum": ["gateway", "application", None]},
                    "severity": {"enum": ["breaking", "additive", "cosmetic", None]},
                    "summary": {"type": "string"},
                    "scenario": _NULLABLE_STR,
                    "evidence": {"type": "object"},
                    "records": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
        "noise": {"type": "array"},
        "measurements": {"type": "array"},
        "baseline": {"type": "array"},
    },
}


#: Version 1: the same document without findings.
_V1_SCHEMA: dict[str, Any] = {
    **MATRIX_SCHEMA,
    "required": [r for r in MATRIX_SCHEMA["required"] if r != "findings"],
    "properties": {**MATRIX_SCHEMA["properties"], "schema_version": {"const": 1}},
}


def write_json(doc: Mapping[str, Any], path: Path) -> Path:
    """Write ``doc`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, ensure_ascii=False, default=str)
            fh.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from whoever opens the artifact
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_matrix(path: str | Path) -> dict[str, Any]:
    """Read a matrix file; any problem is one :class:`MatrixError` naming the file."""
    p = Path(path)
    fix = "Run `pytest -m parity` to produce it, or pass --input with the right file"
    doc = parse_json(read_text(p, "matrix", MatrixError, hint=fix), p, MatrixError, hint=fix)
    if not isinstance(doc, dict):
        raise MatrixError("not a parity matrix (expected a JSON object)", path=p, hint=fix)
    version = doc.get("schema_version")
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        raise MatrixError(
            f"unsupported schema_version {version!r} (this tool reads "
            f"{', '.join(map(str, SUPPORTED_VERSIONS))})",
            path=p,
            hint="Re-run `pytest -m parity` with this version of the suite to regenerate it",
        )
    try:
        jsonschema.validate(doc, MATRIX_SCHEMA if version == SCHEMA_VERSION else _V1_SCHEMA)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(x) for x in exc.absolute_path) or "(top)"
        message = " ".join(exc.message.split())  # it quotes the value, maybe a whole object
        message = message if len(message) <= 160 else message[:157] + "..."
        raise MatrixError(
            f"does not follow the matrix schema: {message}", path=p, location=where, hint=fix
        ) from None
    except RecursionError:
        raise MatrixError("nested too deeply to be read", path=p, hint=fix) from None
    if version == 1:  # made before findings: rebuilt from its cells
        rows = [str(e.get("endpoint")) for e in doc.get("endpoints", [])]
        doc["findings"] = build_findings(doc["cells"], endpoints=rows)
        doc["summary"]["findings"] = findings_summary(doc["findings"])
    return doc
