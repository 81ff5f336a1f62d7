"""Drift detection end to end: a sandbox whose serverless flavour diverges in one named way,
the QA checks run against it as a user would, and the check meant for that drift fails
(while the same checks pass on the clean sandbox).

The catalog-scenario check records what it found: a wrong answer is a ``drift`` cell with
the evidence (request, expected statuses, the answer), never the black ``error`` of a suite
that could not judge; a backend whose answer cannot be judged (not JSON) still is ``error``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.launcher import SandboxProcess
from parity.engine.matrix import load_matrix
from tests.drift.checks import run_checks
from tests.hardening.bad_servers import BadServer

CATALOG_CHECKS = "api_checks/test_catalog_scenarios.py"


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One sandbox carrying both foundation drifts (they touch different endpoints)."""
    tmp = tmp_path_factory.mktemp("drift")
    with SandboxProcess(tmp / "sandbox.env", drifts=["missing-endpoint", "status-code"]) as sb:
        yield sb.env


def _records(matrix: dict[str, Any], endpoint: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(scenario, backend) -> the record, with its evidence, of ``endpoint``'s scenario cell."""
    (cell,) = [
        c for c in matrix["cells"] if c["endpoint"] == endpoint and c["check"] == "catalog-scenario"
    ]
    out = {}
    for r in cell["records"]:
        out[(r["scenario"], r["backend"])] = {**r, "evidence": r["evidence"] or cell["evidence"]}
    return out


@pytest.mark.parametrize(
    ("drift", "case_id", "endpoint", "status", "needle"),
    [
        ("missing-endpoint", "mocs.stats/default", "GET /api/mocs/stats", 404, "got 404"),
        ("status-code", "mocs.create/created", "POST /api/mocs", 200, "got 200"),
    ],
)
def test_drift_is_caught_by_catalog_checks(
    drifted: dict[str, str],
    tmp_path: Path,
    drift: str,
    case_id: str,
    endpoint: str,
    status: int,
    needle: str,
) -> None:
    test_name = f"test_catalog_scenario[{case_id}-serverless]"
    reports = tmp_path / "reports"
    run = run_checks(
        {**drifted, "PARITY_BACKEND": "both", "PARITY_REPORTS_DIR": str(reports)},
        [CATALOG_CHECKS, "-k", case_id.replace("/", " and ")],
        tmp_path / "junit.xml",
    )
    assert run.returncode == 1, run.output[-2000:]
    assert test_name in run.failed(), (drift, run.outcomes)
    assert needle in run.messages[test_name]
    # the Express twin of the same scenario is unaffected
    assert f"test_catalog_scenario[{case_id}-express]" in run.passed()

    # the matrix: drift with the evidence on serverless, pass on Express; no error
    matrix = load_matrix(reports / "parity-matrix.json")
    scenario = case_id.split("/")[1]
    records = _records(matrix, endpoint)
    wrong, right = records[(scenario, "serverless")], records[(scenario, "express")]
    assert wrong["state"] == "drift", wrong
    assert needle in wrong["summary"] and wrong["severity"] == "breaking"
    assert right["state"] == "pass"
    assert matrix["summary"]["states"]["error"] == 0, matrix["summary"]
    evidence = wrong["evidence"]
    assert evidence["request"]["method"] == endpoint.split()[0]
    assert evidence["request"]["path"].startswith(endpoint.split()[1].split("{")[0])
    assert evidence["expected"]["statuses"] != [status]
    answer = evidence["responses"]["serverless"]
    assert answer["status"] == status
    assert answer["headers"]["content-type"].startswith("application/json")
    assert "json" in answer or "text" in answer
    (diff,) = [d for d in evidence["differences"] if d["path"] == "status"]
    assert (diff["kind"], diff["actual"]) == ("status", status)
    # redacted like every record: the request's credentials never reach the matrix
    text = json.dumps(matrix)
    assert "Bearer ey" not in text and drifted["PARITY_USER_ALICE_PASSWORD"] not in text


def test_an_answer_the_suite_cannot_judge_is_still_an_error(tmp_path: Path) -> None:
    """A serverless "backend" answering HTML: the runner cannot read the answer, so the case
    is ``error`` (the suite could not judge), not drift."""
    reports = tmp_path / "reports"
    with (
        SandboxProcess(tmp_path / "sandbox.env") as sb,
        BadServer("html") as html,
    ):
        run = run_checks(
            {**sb.env, "PARITY_BACKEND": "both", "PARITY_REPORTS_DIR": str(reports),
             "PARITY_SERVERLESS_URL": html.url},
            [CATALOG_CHECKS, "-k", "health and default"],
            tmp_path / "junit.xml",
        )  # fmt: skip
    assert run.returncode == 1, run.output[-2000:]
    matrix = load_matrix(reports / "parity-matrix.json")
    records = _records(matrix, "GET /health")
    crashed = records[("default", "serverless")]
    assert crashed["state"] == "error", crashed
    assert "without a verdict" in crashed["summary"] and "not JSON" in crashed["summary"]
    assert records[("default", "express")]["state"] == "pass"


def test_unknown_drift_is_a_clear_usage_error(tmp_path: Path) -> None:
    from parity.core.errors import UsageError

    proc = SandboxProcess(tmp_path / "sandbox.env", drifts=["no-such-drift"])
    with pytest.raises(UsageError, match="no-such-drift"):
        proc.start()
