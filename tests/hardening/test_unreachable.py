"""An unreachable backend, end to end (issue 15, part 7): QA's own command against a URL
where nothing listens prints one line up front naming the backend and the URL, one short
line per affected test (or per file, past a handful) and no traceback; the whole output
fits on a screen, the run fails, and the matrix is still written with the cells not passing.
With ``--backend=both`` the other backend (the embedded sandbox) is still judged.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parity.engine.matrix import load_matrix
from tests.hardening.bad_servers import closed_port_url

ROOT = Path(__file__).resolve().parents[2]
#: the issue's command: nothing listens on the discard port
URL = "http://127.0.0.1:9"
SCREEN = 60
#: a traceback frame (``parity/engine/auth.py:204: AuthError``); a skip's ``file.py:17: reason``
#: in the short summary is a location, not a frame
_FRAME = re.compile(r"\.py:\d+:")


@dataclass
class Run:
    returncode: int
    lines: list[str]
    matrix: dict[str, Any]
    outcomes: dict[str, str]  # JUnit: test id -> passed | failed | error | skipped

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def records(self) -> list[dict[str, Any]]:
        return [r for c in self.matrix["cells"] for r in c["records"]]


def _listening(url: str) -> bool:
    host, _, port = url.removeprefix("http://").partition(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def run_pytest(tmp: Path, *args: str) -> Run:
    reports = tmp / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env["PARITY_REPORTS_DIR"] = str(reports)
    env["COLUMNS"] = "100"  # lines as a terminal of that width would show them
    cmd = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    path = reports / "parity-matrix.json"
    assert path.exists(), "\n".join(lines[-40:])
    outcomes: dict[str, str] = {}
    for case in ET.parse(reports / "junit.xml").getroot().iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = outcome
    return Run(proc.returncode, lines, load_matrix(path), outcomes)


def _assert_short_and_clear(run: Run, url: str) -> None:
    assert run.returncode == 1, run.text
    assert len(run.lines) < SCREEN, f"{len(run.lines)} lines:\n{run.text}"
    # up front: the backend, its URL and the fix, before the first test's progress
    first = next(i for i, line in enumerate(run.lines) if line.startswith("collected "))
    upfront = [line for line in run.lines[:first] if "unreachable" in line]
    assert upfront, run.text
    assert "serverless" in upfront[0] and url in upfront[0] and "--serverless-url" in upfront[0]
    assert "serverless" in run.text[:2000] and upfront[0] in run.lines[:12]
    assert "Traceback" not in run.text
    frames = [ln for ln in run.lines if _FRAME.search(ln) and not ln.startswith("SKIPPED")]
    assert frames == [], frames
    assert re.search(r"\b\d+ not judged\b", run.lines[-1]), run.lines[-1]


def _assert_serverless_not_judged(run: Run, url: str) -> None:
    # the browser flows are skipped without a web URL (and say so in their own cells)
    serverless = [
        r
        for r in run.records()
        if r["backend"] in (None, "serverless") and not str(r["test_id"]).startswith("e2e/")
    ]
    assert serverless, run.text
    off = [(r["state"], r["summary"][:150]) for r in serverless if r["state"] != "error"]
    assert off == []
    assert all(f"serverless backend at {url} is unreachable" in r["summary"] for r in serverless)
    # every serverless API check failed (JUnit); the browser flows skip without a web URL
    tests = {t: o for t, o in run.outcomes.items() if t.endswith("serverless]") and "e2e." not in t}
    assert tests and set(tests.values()) <= {"failed", "error"}, tests


def test_unreachable_serverless_smoke_run_fits_on_a_screen(tmp_path: Path) -> None:
    if _listening(URL):
        pytest.skip(f"something listens on {URL}")
    run = run_pytest(tmp_path, "-m", "smoke", "--backend=serverless", "--serverless-url", URL)
    _assert_short_and_clear(run, URL)
    _assert_serverless_not_judged(run, URL)
    assert run.matrix["summary"]["failing"] > 0
    assert not [r for r in run.records() if r["state"] == "pass"]
    print(f"\nunreachable smoke run: {len(run.lines)} lines, {len(run.outcomes)} tests")


def test_the_other_backend_is_still_judged(tmp_path: Path) -> None:
    """``--backend=both``, serverless unreachable, Express from the embedded sandbox (it
    starts because no Express URL is given). The browser flows are left out: they need
    Chromium and say nothing about the terminal output."""
    url = closed_port_url()
    run = run_pytest(
        tmp_path, "-m", "smoke", "--backend=both", "--serverless-url", url, "api_checks",
        "contracts",
    )  # fmt: skip
    _assert_short_and_clear(run, url)
    _assert_serverless_not_judged(run, url)
    express = {t: o for t, o in run.outcomes.items() if t.endswith("express]")}
    assert express and set(express.values()) == {"passed"}, express
    judged = [r["state"] for r in run.records() if r["backend"] == "express"]
    assert judged and set(judged) <= {"pass", "accepted"}, judged
