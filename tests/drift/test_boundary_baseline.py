"""The boundary findings on the clean sandbox are the truth about the plan: with the shipped
parity-baseline.toml they show as accepted (gateway-originated, never green) and the run
passes; without the baseline's entries they fail it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.launcher import SandboxProcess
from tests.drift.checks import ROOT, quick_catalog, run_checks

CHECKS = [
    "api_checks/test_boundary.py::test_direct_upload[9MiB]",
    "api_checks/test_boundary.py::test_direct_upload_ceiling",
]
ENDPOINT = "POST /api/mocs/{mocId}/files"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("clean")
    with SandboxProcess(tmp / "sandbox.env") as sb:
        yield {**sb.env, "PARITY_BACKEND": "both", "PARITY_CATALOG": str(quick_catalog(tmp))}


def _cell(reports: Path) -> dict[str, Any]:
    doc = json.loads((reports / "parity-matrix.json").read_text(encoding="utf-8"))
    return next(c for c in doc["cells"] if c["endpoint"] == ENDPOINT and c["check"] == "boundary")


def test_shipped_baseline_accepts_the_gateway_findings(
    clean: dict[str, str], tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    run = run_checks(
        {**clean, "PARITY_REPORTS_DIR": str(reports)},
        ["--baseline", str(ROOT / "parity-baseline.toml"), *CHECKS],
        tmp_path / "junit.xml",
    )
    assert run.returncode == 0, run.output[-3000:]
    cell = _cell(reports)
    assert cell["state"] == "accepted" and cell["origin"] == "gateway", cell
    states = {(r["backend"], r["scenario"]): r["state"] for r in cell["records"]}
    assert states[("express", "direct-9MiB")] == "pass"
    assert states[("serverless", "direct-9MiB")] == "accepted"
    assert states[("serverless", "direct-ceiling")] == "accepted"
    assert states[(None, "client-threshold")] == "pass"


def test_without_the_entries_the_findings_fail_the_run(
    clean: dict[str, str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty-baseline.toml"
    empty.write_text("version = 1\n")
    run = run_checks(
        {**clean, "PARITY_REPORTS_DIR": str(tmp_path / "reports")},
        ["--baseline", str(empty), *CHECKS],
        tmp_path / "junit.xml",
    )
    assert run.returncode == 1, run.output[-3000:]
    direct = run.messages["test_direct_upload[9MiB]"]
    assert "serverless direct upload of 9 MiB (9,437,184 B) refused at upload: 413" in direct
    assert "(gateway)" in direct and "express accepts it (201)" in direct
    ceiling = run.messages["test_direct_upload_ceiling"]
    assert "below the plan's 10 MiB" in ceiling and "[gateway]" in ceiling
    assert run.outcomes["test_direct_upload[9MiB]"] == "failed"
