"""Drift detection end to end for the boundary, auth, errors, CORS and config checks: one
sandbox carrying all five drifts (they touch different things), the QA checks run against
it as a user would, and each drift is caught by the check meant for it, with a message that
names the problem (the same checks pass on the clean sandbox: the main suite runs them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parity.checks.sweeps import owner_only
from parity.core.catalog import load_catalog
from parity.engine.launcher import SandboxProcess
from tests.drift.checks import ROOT, CheckRun, quick_catalog, run_checks

DRIFTS = ["upload-limit", "auth-bypass", "cors-header", "cache-control", "fault-ignored"]


def _forbidden_id(endpoint_id: str) -> str:
    targets = owner_only(load_catalog(ROOT / "fixtures" / "catalog.yaml"))
    index = next(i for i, t in enumerate(targets, start=1) if t.id == endpoint_id)
    return f"{endpoint_id}-{index}of{len(targets)}"


@dataclass
class Expect:
    drift: str
    node: str  # the check meant to catch it (a pytest node id under api_checks/)
    outcome: str  # failed, or skipped for a not-testable case
    needles: tuple[str, ...]  # what its message must say
    check: str  # the matrix check
    endpoint: str
    state: str  # the serverless (or web) record's state in the matrix
    origin: str | None


EXPECTED = [
    Expect(
        "upload-limit",
        "api_checks/test_boundary.py::test_direct_upload_ceiling",
        "failed",
        ("client-threshold", "serverless refuses direct uploads above", "lower the threshold"),
        "boundary",
        "POST /api/mocs/{mocId}/files",
        "drift",
        "gateway",
    ),
    Expect(
        "auth-bypass",
        f"api_checks/test_auth.py::test_other_user_is_forbidden[{_forbidden_id('mocs.update')}]",
        "failed",
        ("serverless PATCH /api/mocs/{mocId}", "serverless answered 200, expected 403"),
        "auth",
        "PATCH /api/mocs/{mocId}",
        "drift",
        "application",
    ),
    Expect(
        "cors-header",
        "api_checks/test_cors.py::test_preflight[mocs.list]",
        "failed",
        ("serverless: OPTIONS /api/mocs", "access-control-allow-headers lacks Authorization"),
        "cors",
        "GET /api/mocs",
        "drift",
        "gateway",
    ),
    Expect(
        "cache-control",
        "api_checks/test_health.py::test_runtime_config",
        "failed",
        ("Cache-Control: no-cache", "expected max-age=60"),
        "config",
        "GET /config.json",
        "drift",
        "application",
    ),
    Expect(
        "fault-ignored",
        "api_checks/test_errors.py::test_fault_header_gives_500[mocs.get]",
        "skipped",
        ("not-testable", "serverless ignores X-Debug-Fault: 500"),
        "errors",
        "GET /api/mocs/{mocId}",
        "not-testable",
        None,
    ),
]


@pytest.fixture(scope="module")
def drifted_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CheckRun, Path]]:
    tmp = tmp_path_factory.mktemp("drift5")
    with SandboxProcess(tmp / "sandbox.env", drifts=DRIFTS) as sb:
        reports = tmp / "reports"
        run = run_checks(
            {
                **sb.env,
                "PARITY_BACKEND": "both",
                "PARITY_REPORTS_DIR": str(reports),
                "PARITY_CATALOG": str(quick_catalog(tmp)),
            },
            [e.node for e in EXPECTED],
            tmp / "junit.xml",
        )
        yield run, reports / "parity-matrix.json"


def _records(matrix: Path) -> list[dict[str, Any]]:
    doc = json.loads(matrix.read_text(encoding="utf-8"))
    out = []
    for cell in doc["cells"]:
        for rec in cell.get("records", []):
            out.append({**rec, "endpoint": cell["endpoint"], "check": cell["check"]})
    return out


@pytest.mark.parametrize("expect", EXPECTED, ids=[e.drift for e in EXPECTED])
def test_drift_is_caught(drifted_run: tuple[CheckRun, Path], expect: Expect) -> None:
    run, matrix = drifted_run
    name = expect.node.split("::", 1)[1]
    assert run.outcomes.get(name) == expect.outcome, (
        expect.drift,
        run.outcomes,
        run.output[-3000:],
    )
    message = run.messages[name]
    for needle in expect.needles:
        assert needle in message, (expect.drift, needle, message)
    # The Express side of the same check is unaffected: the message names serverless only.
    assert not any(line.startswith("express ") for line in message.splitlines()), message
    wanted = [
        r
        for r in _records(matrix)
        if r["endpoint"] == expect.endpoint
        and r["check"] == expect.check
        and r["backend"] in ("serverless", "web", None)
        and r["state"] == expect.state
    ]
    assert wanted, (expect.drift, [r for r in _records(matrix) if r["check"] == expect.check])
    assert any(r["origin"] == expect.origin for r in wanted), (expect.drift, wanted)


def test_the_drifted_run_fails(drifted_run: tuple[CheckRun, Path]) -> None:
    run, _ = drifted_run
    assert run.returncode == 1, run.output[-2000:]
