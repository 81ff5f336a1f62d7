"""The plugin's matrix side, through pytester: records from tests (and from xdist workers)
become parity-matrix.json/.html; a crashed check still shows; -n 2 builds the same cells."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

CHECKS = """
import pytest
from parity.core.results import CheckResult


@pytest.mark.parametrize("n", range(6))
def test_emits(parity_results, n):
    state = "drift" if n == 4 else "pass"
    parity_results.add(CheckResult(f"GET /things/{n % 3}", "status", state, f"n={n}",
                                   scenario=f"s{n}", evidence={"n": n}))
    assert state == "pass", "drift found"


@pytest.mark.parity_check("envelope", endpoint="GET /crash")
def test_crashes_without_records():
    raise RuntimeError("boom")


@pytest.mark.parity_check("envelope", endpoint="GET /skipped")
def test_skips():
    pytest.skip("no backend here")


def test_unrelated():
    pass
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PARITY_"):
            monkeypatch.delenv(key)


def run(pytester: pytest.Pytester, reports: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    os.environ["PARITY_REPORTS_DIR"] = str(reports)
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    finally:
        del os.environ["PARITY_REPORTS_DIR"]
    matrix = json.loads((reports / "parity-matrix.json").read_text())
    return result, matrix


def cells(matrix: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["endpoint"], c["check"], c["state"], c["summary"]) for c in matrix["cells"]]


def test_serial_and_xdist_runs_build_the_same_matrix(
    pytester: pytest.Pytester, clean_env: None, tmp_path: Path
) -> None:
    pytester.makepyfile(test_checks=CHECKS)
    junit = tmp_path / "junit.xml"
    serial, a = run(pytester, tmp_path / "serial", "-p", "no:xdist", f"--junitxml={junit}")
    parallel, b = run(pytester, tmp_path / "xdist", "-n", "2")
    assert serial.ret == parallel.ret == 1
    assert cells(a) == cells(b)
    assert a["cells"] == b["cells"]  # evidence and per-record verdicts too
    assert (tmp_path / "xdist" / "parity-matrix.html").exists()
    # the crashed check and the skipped one are in the matrix, with the reason
    crash = next(c for c in a["cells"] if c["endpoint"] == "GET /crash")
    assert crash["state"] == "error" and "RuntimeError: boom" in crash["summary"]
    skipped = next(c for c in a["cells"] if c["endpoint"] == "GET /skipped")
    assert skipped["state"] == "skipped" and skipped["summary"] == "no backend here"
    assert next(c for c in a["cells"] if c["endpoint"] == "GET /things/1")["state"] == "drift"
    assert a["summary"]["headline"] == "2 of 5 endpoints at parity (1 not judged)"
    serial.stdout.fnmatch_lines(
        ["*parity matrix*", "2 of 5 endpoints at parity (1 not judged); 2 failing cell(s)"]
    )
    # JUnit XML gets one readable line per record, not the evidence
    props = [
        p.get("value", "")
        for p in ET.parse(junit).getroot().iter("property")
        if p.get("name") == "parity"
    ]
    assert len(props) == 6
    assert "GET /things/1 status [s4]: drift - n=4" in props
    assert all("evidence" not in p for p in props)


def test_no_record_no_matrix(pytester: pytest.Pytester, clean_env: None, tmp_path: Path) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    os.environ["PARITY_REPORTS_DIR"] = str(tmp_path)
    try:
        result = pytester.runpytest_subprocess("-p", "no:xdist")
    finally:
        del os.environ["PARITY_REPORTS_DIR"]
    assert result.ret == 0
    assert not (tmp_path / "parity-matrix.json").exists()


def test_a_named_baseline_must_exist_and_be_valid(
    pytester: pytest.Pytester, clean_env: None, tmp_path: Path
) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    missing = tmp_path / "nope.toml"
    result = pytester.runpytest_subprocess(f"--baseline={missing}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{missing}: cannot read the baseline" in result.stderr.str()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[accept]]\nendpoint = "GET /x"\n')
    result = pytester.runpytest_subprocess(f"--baseline={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "[[accept]] entry 1: missing required field 'check'" in result.stderr.str()


OUTSIDE = """
import pytest
from parity.core.results import CheckResult


def test_emits(parity_results):
    parity_results.add(CheckResult("GET /things", "status", "pass", "fine"))


def test_fails_with_no_cell():
    assert 1 == 2, "a plain check the matrix knows nothing about"
"""


def test_a_failure_no_cell_shows_is_in_the_headline(
    pytester: pytest.Pytester, clean_env: None, tmp_path: Path
) -> None:
    pytester.makepyfile(test_outside=OUTSIDE)
    result, m = run(pytester, tmp_path, "-p", "no:xdist")
    assert result.ret == 1
    summary = m["summary"]
    assert summary["failing"] == 0 and not summary["clean"]
    assert summary["headline"] == (
        "1 of 1 endpoints at parity (1 failed test(s) with no cell: "
        "test_outside.py::test_fails_with_no_cell)"
    )
    assert "a plain check the matrix knows nothing about" in summary["failed_outside"][0]["reason"]
    result.stdout.fnmatch_lines(
        [
            "*(1 failed test(s) with no cell: test_outside.py::test_fails_with_no_cell); "
            "0 failing cell(s)",
            "failed with no cell: test_outside.py::test_fails_with_no_cell: *",
        ]
    )
    html = (tmp_path / "parity-matrix.html").read_text()
    assert '<div class="headline bad" id="headline">' in html  # red, not green
