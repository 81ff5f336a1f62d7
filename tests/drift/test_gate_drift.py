"""The gate on a real matrix: the parity checks run against a sandbox whose serverless
flavour answers POST /api/mocs with 200 (an unaccepted breaking drift on a smoke endpoint),
and ``parity gate --stage 10`` says no-go naming that endpoint. The clean sandbox's matrix
says go: tests/drift/test_parity_drifts.py gates the clean pair's run with
:func:`tests.drift.checks.gate_with_healthy_load`."""

from __future__ import annotations

from pathlib import Path

from parity.engine.launcher import SandboxProcess
from tests.drift.checks import gate_with_healthy_load, run_checks


def test_gate_reads_the_real_matrix(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with SandboxProcess(tmp_path / "sandbox.env", drifts=["status-code"]) as sandbox:
        run_checks(
            {**sandbox.env, "PARITY_REPORTS_DIR": str(reports)},
            ["api_checks/test_parity.py"],
            tmp_path / "junit.xml",
        )
    result, md = gate_with_healthy_load(reports)
    assert result.returncode == 1, md
    assert "**NO-GO**" in md
    assert "POST /api/mocs [status: drift]" in md
