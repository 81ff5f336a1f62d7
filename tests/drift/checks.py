"""Run the QA-facing checks as a user would (a separate pytest process against a sandbox)
and read back which tests failed, from JUnit XML."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["CheckRun", "gate_with_healthy_load", "quick_catalog", "run_checks"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CheckRun:
    returncode: int
    outcomes: dict[str, str]  # test name -> passed | failed | error | skipped
    messages: dict[str, str]  # test name -> failure text
    output: str

    def failed(self) -> set[str]:
        return {n for n, o in self.outcomes.items() if o in ("failed", "error")}

    def passed(self) -> set[str]:
        return {n for n, o in self.outcomes.items() if o == "passed"}


def run_checks(
    env: dict[str, str],
    args: list[str],
    junit: Path,
    *,
    qualified: bool = False,
    timeout: float = 600,
) -> CheckRun:
    """Run pytest on ``args`` with ``env`` (no ``PARITY_*`` leaking in from this process).
    Outcomes are keyed by test name, or ``classname::name`` when ``qualified``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", f"--junitxml={junit}", "-q", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    outcomes: dict[str, str] = {}
    messages: dict[str, str] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = case.get("name", "")
            if qualified:
                name = f"{case.get('classname')}::{name}"
            outcome = "passed"
            for tag, label in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
                node = case.find(tag)
                if node is not None:
                    outcome = label
                    messages[name] = (node.get("message") or "") + (node.text or "")
            outcomes[name] = outcome
    return CheckRun(proc.returncode, outcomes, messages, proc.stdout + proc.stderr)


def quick_catalog(tmp: Path) -> Path:
    """The shipped catalog with the ceiling search capped at 12 MiB: Express' ceiling is
    then "at least 12 MiB" after one probe instead of a 10-probe search near 50 MiB (the
    serverless ceiling, the one that matters, is searched as usual). For self-tests."""
    text = (ROOT / "fixtures" / "catalog.yaml").read_text(encoding="utf-8")
    shipped = "ceiling: {high: 64MiB,"
    assert shipped in text, "the shipped catalog's ceiling line changed: update quick_catalog"
    path = tmp / "catalog.yaml"
    path.write_text(text.replace(shipped, "ceiling: {high: 12MiB,"), encoding="utf-8")
    for schema in (ROOT / "fixtures").glob("*.schema.json"):  # referenced relative to it
        (tmp / schema.name).write_text(schema.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def gate_with_healthy_load(reports: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """``parity gate --stage 10`` on ``reports`` (a parity run's matrix) with healthy, fresh
    load figures beside it, so only the matrix decides; returns the run and gate-10.md."""
    from tests.gate.test_gate import load_doc  # the gate tests' healthy load figures

    load = load_doc()
    load["generated_at"] = datetime.now(UTC).isoformat()
    (reports / "load-serverless.json").write_text(json.dumps(load))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    result = subprocess.run(
        [sys.executable, "-m", "parity", "gate", "--stage", "10", "--reports-dir", str(reports)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip
    return result, (reports / "gate-10.md").read_text()
