"""``parity load`` end to end on the embedded sandbox, then ``parity gate`` on its figures.

Two short runs (about 35 s together): a clean one with Locust's master and two local
workers (one merged result per backend, a go), and one with the sandbox's latency and
error-rate knobs on the serverless flavour (a no-go naming both criteria). The matrix input
is a fresh all-pass matrix of the smoke endpoints: building a real one is the parity
suite's job, and drift is covered by tests/gate/test_gate.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parity.catalog import load_catalog

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "fixtures" / "catalog.yaml"


def _parity(
    *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-c", "from parity.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=180,
        check=False,
    )


def _fresh_matrix(reports: Path) -> None:
    smoke = [e.key for e in load_catalog(CATALOG).endpoints if "smoke" in e.tags]
    cells = [{"endpoint": e, "check": "status", "state": "pass", "severity": None} for e in smoke]
    doc = {"generated_at": datetime.now(UTC).isoformat(), "cells": cells}
    (reports / "parity-matrix.json").write_text(json.dumps(doc))


def test_load_with_two_workers_on_both_backends_then_the_gate_says_go(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = _parity("load", "--users", "4", "--duration", "4", "--workers", "2",
                  "--reports-dir", str(reports))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for backend in ("express", "serverless"):
        doc = json.loads((reports / f"load-{backend}.json").read_text())
        assert doc["backend"] == backend and doc["workers"] == 2
        overall = doc["overall"]
        assert overall["requests"] > 0 and overall["error_rate"] == 0, doc
        assert overall["p95_ms"] is not None and overall["rps"] > 0
        names = {e["name"] for e in doc["endpoints"]}
        assert "GET /api/mocs" in names
        # one merged document: the endpoints' requests add up to the overall figure
        assert sum(e["requests"] for e in doc["endpoints"]) == overall["requests"]
        text = (reports / f"load-{backend}.json").read_text()
        assert "eyJ" not in text  # no token (JWTs start with eyJ) ever lands in a file
    _fresh_matrix(reports)
    gate = _parity("gate", "--stage", "10", "--reports-dir", str(reports))
    assert gate.returncode == 0, gate.stdout
    assert (reports / "gate-10.md").read_text().startswith("# Rollout gate, stage 10%: **GO**")


def test_injected_latency_and_errors_make_the_gate_say_no_go(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    knobs = {"PARITY_SANDBOX_LATENCY": "700", "PARITY_SANDBOX_ERROR_RATE": "0.5"}
    run = _parity("load", "--backend", "serverless", "--users", "4", "--duration", "5",
                  "--reports-dir", str(reports), extra_env=knobs)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    overall = json.loads((reports / "load-serverless.json").read_text())["overall"]
    assert overall["p95_ms"] >= 700 and overall["error_rate"] > 0.05, overall
    _fresh_matrix(reports)
    gate = _parity("gate", "--stage", "10", "--reports-dir", str(reports))
    assert gate.returncode == 1, gate.stdout
    md = (reports / "gate-10.md").read_text()
    assert md.startswith("# Rollout gate, stage 10%: **NO-GO**")
    assert "| error rate | FAIL |" in md
    assert "| p95 latency | FAIL |" in md
