"""The gate on a real matrix: the parity checks run against a sandbox whose serverless
flavour answers POST /api/mocs with 200 (an unaccepted breaking drift on a smoke endpoint),
and ``parity gate --stage 10`` says no-go naming that endpoint, while the same run on the
clean sandbox's matrix says go."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parity.launcher import SandboxProcess
from tests.drift.checks import ROOT, run_checks
from tests.gate.test_gate import load_doc


def _gate(reports: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    return subprocess.run(
        [sys.executable, "-m", "parity", "gate", "--stage", "10", "--reports-dir", str(reports)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip


def _parity_run(tmp: Path, drifts: list[str]) -> Path:
    reports = tmp / "reports"
    with SandboxProcess(tmp / "sandbox.env", drifts=drifts) as sandbox:
        run_checks(
            {**sandbox.env, "PARITY_REPORTS_DIR": str(reports)},
            ["api_checks/test_parity.py"],
            tmp / "junit.xml",
        )
    # healthy load figures, fresh: only the matrix decides this gate
    load = load_doc()
    load["generated_at"] = datetime.now(UTC).isoformat()
    (reports / "load-serverless.json").write_text(json.dumps(load))
    return reports


@pytest.mark.parametrize(("drifts", "go"), [([], True), (["status-code"], False)])
def test_gate_reads_the_real_matrix(tmp_path: Path, drifts: list[str], go: bool) -> None:
    reports = _parity_run(tmp_path, drifts)
    result = _gate(reports)
    md = (reports / "gate-10.md").read_text()
    if go:
        assert result.returncode == 0, md
        assert "**GO**" in md
    else:
        assert result.returncode == 1, md
        assert "**NO-GO**" in md
        assert "POST /api/mocs [status: drift]" in md
