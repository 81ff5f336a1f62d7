"""Records -> cells: worst state wins, order independence, headline, schema, loading."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from parity.core.results import CheckResult
from parity.engine.matrix import (
    MATRIX_SCHEMA,
    SCHEMA_VERSION,
    MatrixError,
    build_matrix,
    load_matrix,
    resource_of,
    write_json,
)


def rec(endpoint: str, check: str, state: str, scenario: str = "s", **kw: object) -> CheckResult:
    return CheckResult(endpoint, check, state, f"{state} summary", scenario=scenario, **kw)  # type: ignore[arg-type]


RECORDS = [
    rec("GET /health", "status", "pass"),
    rec(
        "GET /health",
        "envelope",
        "pass",
        evidence={
            "noise": [
                {"path": "data.uptime", "source": "learned", "kind": "timestamp", "values": [1, 2]}
            ]
        },
    ),
    rec("GET /api/mocs", "envelope", "pass", "a"),
    rec(
        "GET /api/mocs",
        "envelope",
        "drift",
        "b",
        origin="application",
        severity="breaking",
        evidence={"differences": [{"path": "data.page"}]},
    ),
    rec("GET /api/mocs", "envelope", "accepted", "c"),
    rec("POST /api/mocs", "envelope", "accepted", "no-token", origin="gateway"),
    rec("POST /api/mocs", "status", "pass"),
    rec("GET /api/mocs/stats", "status", "missing", origin="gateway"),
    rec("GET /api/mocs/stats", "envelope", "error"),
    rec(
        "GET /api/mocs/search",
        "search-lag",
        "pass",
        "express-to-serverless",
        evidence={"measurements": [{"name": "search lag", "value": 0.05, "unit": "s"}]},
    ),
    rec("GET /api/v1/things", "contract", "skipped"),
    rec("GET /debug/routes", "catalog", "not-testable"),
]


def cell(matrix: dict, endpoint: str, check: str) -> dict:
    return next(c for c in matrix["cells"] if c["endpoint"] == endpoint and c["check"] == check)


def test_worst_state_wins_and_keeps_its_evidence() -> None:
    m = build_matrix(RECORDS)
    c = cell(m, "GET /api/mocs", "envelope")
    assert c["state"] == "drift" and c["scenario"] == "b" and c["origin"] == "application"
    assert c["evidence"] == {"differences": [{"path": "data.page"}]}
    assert [r["scenario"] for r in c["records"]] == ["a", "b", "c"]
    assert cell(m, "GET /api/mocs/stats", "envelope")["state"] == "error"
    assert cell(m, "GET /api/mocs/stats", "status")["state"] == "missing"


def test_headline_counts_endpoints_at_parity() -> None:
    m = build_matrix(RECORDS)
    s = m["summary"]
    # /health and POST /api/mocs are at parity (one of them with accepted drift);
    # search has a pass; skipped or not-testable alone is not "at parity"
    assert s["endpoints"] == 7
    assert s["at_parity"] == 3 and s["with_accepted"] == 1
    assert s["headline"] == "3 of 7 endpoints at parity (1 with accepted drift, 2 not judged)"
    assert s["states"]["drift"] == 0 + sum(1 for c in m["cells"] if c["state"] == "drift")
    assert s["failing"] == 3
    # every endpoint is at parity, failing or not judged: the counts add up
    bad = ("drift", "missing", "error")
    failing_rows = {c["endpoint"] for c in m["cells"] if c["state"] in bad}
    assert s["at_parity"] + len(failing_rows) + s["not_judged"] == s["endpoints"]
    assert s["failing"] == sum(s["states"][k] for k in ("drift", "missing", "error"))
    assert not s["clean"]


def test_an_unknown_state_is_counted_and_not_judged() -> None:
    m = build_matrix([rec("GET /a", "status", "not-applicable"), rec("GET /b", "status", "pass")])
    s = m["summary"]
    assert s["states"]["not-applicable"] == 1  # shown, never dropped
    assert (s["at_parity"], s["not_judged"]) == (1, 1)
    assert s["headline"] == "1 of 2 endpoints at parity (1 not judged)"


def test_the_headline_agrees_with_the_exit_status() -> None:
    clean = [rec("GET /a", "status", "pass")]
    ok = build_matrix(clean, exit_status=0)["summary"]
    assert ok["clean"] and ok["headline"] == "1 of 1 endpoints at parity"
    # a failed test that no cell shows: named, so the headline never reads as clean
    outside = {"e2e/test_x.py::test_y": "AssertionError: no", "e2e/test_x.py::test_z": "boom"}
    s = build_matrix(clean, outside=outside, exit_status=1)["summary"]
    assert not s["clean"]
    assert s["headline"] == (
        "1 of 1 endpoints at parity (2 failed test(s) with no cell: "
        "e2e/test_x.py::test_y and 1 more)"
    )
    first = {"test": "e2e/test_x.py::test_y", "reason": "AssertionError: no"}
    assert s["failed_outside"][0] == first
    # a non-zero exit nothing explains (a collection error, an interrupted run)
    s = build_matrix(clean, exit_status=2)["summary"]
    assert not s["clean"] and "pytest exit status 2, though no cell failed" in s["headline"]
    # and the other way round: failing cells while pytest said 0
    s = build_matrix([rec("GET /a", "status", "drift")], exit_status=0)["summary"]
    assert s["headline"] == "0 of 1 endpoints at parity (failing cells, yet pytest exited 0)"


def test_same_cells_whatever_the_order_of_records() -> None:
    shuffled = RECORDS[:]
    random.Random(4).shuffle(shuffled)
    a, b = build_matrix(RECORDS), build_matrix(shuffled)
    assert a["cells"] == b["cells"] and a["endpoints"] == b["endpoints"]


def test_rows_follow_the_catalog_order_and_columns_the_check_order() -> None:
    m = build_matrix(RECORDS, endpoint_order=["POST /api/mocs", "GET /health"])
    assert [e["endpoint"] for e in m["endpoints"]][:2] == ["POST /api/mocs", "GET /health"]
    assert m["checks"][:4] == ["catalog", "status", "envelope", "search-lag"]
    assert m["checks"][-1] == "contract"


@pytest.mark.parametrize(
    ("endpoint", "resource"),
    [
        ("GET /api/mocs/{mocId}", "mocs"),
        ("GET /health", "health"),
        ("GET /api/v1/things", "things"),
        ("POST /api/users/me/avatar", "users"),
        ("GET /", "(root)"),
    ],
)
def test_resource_of(endpoint: str, resource: str) -> None:
    assert resource_of(endpoint) == resource


def test_noise_and_measurements_are_listed() -> None:
    m = build_matrix(RECORDS)
    assert m["noise"] == [
        {
            "endpoint": "GET /health",
            "path": "data.uptime",
            "source": "learned",
            "kind": "timestamp",
            "scenarios": ["s"],
            "example": [1, 2],
        }
    ]
    assert m["measurements"][0]["value"] == 0.05


def test_document_follows_its_schema(tmp_path: Path) -> None:
    import jsonschema

    m = build_matrix(RECORDS, baseline=[{"id": "x", "state": "stale"}], meta={"run_id": "r"})
    jsonschema.validate(m, MATRIX_SCHEMA)
    assert m["schema_version"] == SCHEMA_VERSION and m["summary"]["stale_baseline"] == 1
    path = write_json(m, tmp_path / "parity-matrix.json")
    assert load_matrix(path)["cells"] == json.loads(json.dumps(m["cells"]))
    assert (path.stat().st_mode & 0o777) == 0o644


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ("[]", "not a parity matrix"),
        ('{"schema_version": 99}', "unsupported schema_version 99"),
        (
            '{"schema_version": 1, "generated_at": "x", "summary": {}, "checks": [], '
            '"endpoints": [], "cells": []}',
            "summary: does not follow the matrix schema",
        ),
    ],
)
def test_load_matrix_errors_name_the_file_and_the_fix(
    tmp_path: Path, content: str | None, needle: str
) -> None:
    path = tmp_path / "parity-matrix.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(MatrixError, match=needle) as info:
        load_matrix(path)
    text = str(info.value)
    assert text.startswith(str(path)) and "pytest -m parity" in text and "\n" not in text
