"""One run, one folder (issue 18): each run writes into ``reports/runs/<run id>/`` with a
pointer to the latest (``latest.json``, the ``latest`` symlink, the top-level copies);
``parity report`` and ``parity gate`` read ``PARITY_REPORTS_DIR`` and the latest run; load
figures older than the run, or made with other settings, are flagged and refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from parity.core.results import CheckResult
from parity.engine.gate import GateInputs, evaluate, gather_inputs, thresholds_for
from parity.engine.matrix import build_matrix
from parity.report import latest_run, run_dir, write_reports

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
NOW = datetime.now(UTC)


def stamp(minutes: float) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def matrix(run_id: str, *, started: float = -10, state: str = "pass") -> dict[str, Any]:
    records = [CheckResult("GET /api/things", "status", state, "s", scenario="default")]  # type: ignore[arg-type]
    meta = {"run_id": run_id, "started_at": stamp(started), "backends": {}}
    return build_matrix(records, meta=meta, generated_at=NOW + timedelta(minutes=started + 1))


def load(backend: str, minutes: float, users: int = 5, duration: int = 60) -> dict[str, Any]:
    overall = {"requests": 1000, "failures": 0, "error_rate": 0.0, "p50_ms": 20.0,
               "p95_ms": 80.0, "p99_ms": 90.0, "rps": 50.0}  # fmt: skip
    return {"schema_version": 1, "backend": backend, "host": "http://x", "generated_at":
            stamp(minutes), "users": users, "spawn_rate": users, "duration_s": duration,
            "workers": 0, "think_time_s": [0, 0], "overall": overall,
            "endpoints": [{"name": "GET /api/things", **overall}]}  # fmt: skip


def test_each_run_has_its_folder_and_the_latest_is_pointed_at(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_reports(matrix("run-one"), reports)
    paths = write_reports(matrix("run-two", state="drift"), reports)
    one, two = run_dir(reports, "run-one"), run_dir(reports, "run-two")
    assert (one / "parity-matrix.json").is_file() and (two / "parity-matrix.html").is_file()
    assert json.loads((one / "parity-matrix.json").read_text())["meta"]["run_id"] == "run-one"
    pointer = json.loads((reports / "latest.json").read_text())
    assert pointer["run_id"] == "run-two" and pointer["dir"] == "runs/run-two"
    assert "parity-matrix.json" in pointer["files"]
    assert latest_run(reports) == two.resolve()
    assert (reports / "latest").resolve() == two.resolve()
    # the names existing users and CI read are the latest run's
    top = json.loads((reports / "parity-matrix.json").read_text())
    assert top == json.loads((two / "parity-matrix.json").read_text())
    assert (reports / "parity-matrix.html").read_bytes() == (
        two / "parity-matrix.html"
    ).read_bytes()
    assert paths["matrix JSON"] == two / "parity-matrix.json"
    # a pointer that leads nowhere (or out of the directory) is no latest run
    (reports / "latest.json").write_text('{"dir": "../elsewhere"}')
    assert latest_run(reports) is None


def test_run_ids_become_safe_folder_names(tmp_path: Path) -> None:
    assert run_dir(tmp_path, "gate-12/3 ../x").name == "gate-12_3_.._x"
    assert run_dir(tmp_path, "..").parent == tmp_path / "runs"


def parity(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    return subprocess.run(
        [sys.executable, "-m", "parity", *args], capture_output=True, text=True, timeout=120,
        env={**clean, **(env or {})}, check=False,
    )  # fmt: skip


def test_parity_report_reads_the_reports_dir_and_flags_old_load_figures(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_reports(matrix("run-a"), reports)
    # left from an older run, and with other settings than express's
    (reports / "load-serverless.json").write_text(json.dumps(load("serverless", -60, users=50)))
    (reports / "load-express.json").write_text(json.dumps(load("express", 5)))
    done = parity("report", env={"PARITY_REPORTS_DIR": str(reports)})
    assert done.returncode == 0, done.stderr
    assert "0 findings" in done.stdout and "load figures of serverless flagged" in done.stdout
    assert "before this run started" in done.stdout and "other settings" in done.stdout
    folder = run_dir(reports, "run-a")
    html = (folder / "parity-matrix.html").read_text()
    assert "Not this run&#39;s figures (serverless)" in html or "Not this run's figures" in html
    assert (reports / "parity-matrix.html").read_text() == html  # the latest, at the top
    assert '"kind": "load"' in html  # the flagged figures are a finding on the page too
    # flagged figures stay out of the run's folder; express's own settings were flagged too
    assert not (folder / "load-serverless.json").exists()
    # fresh figures with the same settings belong to the run: copied in, nothing flagged
    for backend in ("serverless", "express"):
        (reports / f"load-{backend}.json").write_text(json.dumps(load(backend, 5)))
    done = parity("report", "--reports-dir", str(reports))
    assert done.returncode == 0 and "flagged" not in done.stdout, done.stdout
    assert (folder / "load-serverless.json").is_file() and (folder / "load-express.json").is_file()


def test_the_gate_refuses_load_figures_that_are_not_the_runs(tmp_path: Path) -> None:
    m = matrix("run-g")
    smoke = frozenset({"GET /api/things"})
    fresh = {"serverless": load("serverless", 5), "express": load("express", 5)}
    t = thresholds_for(10)
    assert evaluate(GateInputs(m, smoke, fresh), 10, t).go
    old = {**fresh, "serverless": load("serverless", -60)}
    verdict = evaluate(GateInputs(m, smoke, old), 10, t)
    assert not verdict.go
    (inputs,) = [c for c in verdict.failed if c.name == "inputs present and fresh"]
    assert "load-serverless.json refused: made" in inputs.figure
    assert "before this run started" in inputs.figure
    other = {**fresh, "express": load("express", 5, users=50, duration=300)}
    figure = evaluate(GateInputs(m, smoke, other), 10, t).failed[0].figure
    assert "made with other settings than" in figure and "users 50" in figure
    # a matrix that does not say when it started (older files) judges only the age
    legacy = {**m, "meta": {}}
    assert evaluate(GateInputs(legacy, smoke, old), 10, t).go


def test_the_gate_reads_the_latest_runs_folder(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    write_reports(matrix("old", state="drift"), reports)
    write_reports(matrix("new"), reports)
    (reports / "parity-matrix.json").write_text("{}")  # someone's stray copy: not read
    catalog = Path(__file__).resolve().parents[2] / "fixtures" / "catalog.yaml"
    inputs = gather_inputs(reports, catalog)
    assert inputs.matrix is not None and inputs.matrix["meta"]["run_id"] == "new"


RUN = """
from parity.core.results import CheckResult

def test_emits(parity_results):
    parity_results.add(CheckResult("GET /things", "status", "drift", "n=1", scenario="s",
                                   evidence={"differences": [{"path": "status",
                                   "kind": "status", "expected": 200, "actual": 201,
                                   "severity": "breaking", "origin": "application",
                                   "accepted_by": None, "note": ""}]}))
"""


def test_a_pytest_run_writes_its_folder_with_both_junit_files(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("PARITY_"):
            monkeypatch.delenv(key)
    pytester.makepyfile(test_run=RUN)
    reports = tmp_path / "reports"
    monkeypatch.setenv("PARITY_REPORTS_DIR", str(reports))
    monkeypatch.setenv("PARITY_RUN_ID", "folder-test")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    assert result.ret == 0  # the test itself passes; its record is a drift
    folder = reports / "runs" / "folder-test"
    assert {p.name for p in folder.iterdir()} >= {
        "parity-matrix.json", "parity-matrix.html", "junit.xml", "junit-findings.xml"
    }  # fmt: skip
    cases = list(ET.parse(folder / "junit-findings.xml").getroot().iter("testcase"))
    assert len(cases) == 1 and "status 200 becomes 201" in str(cases[0].get("name"))
    assert cases[0].find("failure") is not None
    # pytest's own file counts pytest's tests only
    assert len(list(ET.parse(folder / "junit.xml").getroot().iter("testcase"))) == 1
    result.stdout.fnmatch_lines(["*parity matrix*", "1 finding (1 breaking)",
                                 "  F* breaking: status 200 becomes 201 *"])  # fmt: skip
