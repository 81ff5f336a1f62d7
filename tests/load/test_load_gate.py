"""``parity load`` end to end on the embedded sandbox, then ``parity gate`` on its figures.

Three short runs (20-45 s each on a busy 2-core machine, mostly process start-up): a clean
one with Locust's master and two local workers (one merged result per backend, a go); one
with the sandbox's latency knob (a no-go naming p95 latency); one with a 5 % error rate and
no think time (a no-go naming the error rate, with enough requests that 5 % cannot be
mistaken for 2 %). The matrix input is a fresh all-pass matrix of the smoke endpoints:
building a real one is the parity suite's job, and drift is covered by
tests/gate/test_gate.py and tests/drift/test_gate_drift.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parity.checks.load import requests_to_resolve
from parity.core.catalog import load_catalog
from parity.engine.gate import thresholds_for

pytestmark = pytest.mark.load

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "fixtures" / "catalog.yaml"


def _parity(
    *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-c", "from parity.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=180,
        check=False,
    )


def _fresh_matrix(reports: Path) -> None:
    """Every smoke endpoint judged: a passing record for each of its catalog scenarios
    (the gate counts an endpoint as judged only then)."""
    smoke = [e for e in load_catalog(CATALOG).endpoints if "smoke" in e.tags]
    cells = [
        {
            "endpoint": e.key,
            "check": "catalog-scenario",
            "state": "pass",
            "severity": None,
            "records": [{"scenario": s.name, "state": "pass"} for s in e.scenarios],
        }
        for e in smoke
    ]
    doc = {"generated_at": datetime.now(UTC).isoformat(), "cells": cells}
    (reports / "parity-matrix.json").write_text(json.dumps(doc))


def test_load_with_two_workers_on_both_backends_then_the_gate_says_go(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    # no think time: enough requests (>= min_requests) for the gate to judge the rate
    run = _parity("load", "--users", "4", "--duration", "4", "--workers", "2",
                  "--think-time", "0", "--reports-dir", str(reports))  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for backend in ("express", "serverless"):
        doc = json.loads((reports / f"load-{backend}.json").read_text())
        assert doc["backend"] == backend and doc["workers"] == 2
        overall = doc["overall"]
        assert overall["requests"] >= thresholds_for(10).min_requests, doc
        assert overall["error_rate"] == 0, doc
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


def test_a_catalog_without_a_load_mix_runs_its_read_scenarios(tmp_path: Path) -> None:
    """No checks.load: the mix is the read-only scenarios, each sent as the catalog says,
    named by route template; nothing written, no failure on a healthy backend."""
    text = CATALOG.read_text(encoding="utf-8")
    start = text.index("  # `parity load` (load/locustfile.py)")
    end = text.index("\n\n", text.index("images.upload/png", start)) + 2
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(text[:start] + text[end:], encoding="utf-8")
    for schema in CATALOG.parent.glob("*.schema.json"):  # referenced relative to it
        (tmp_path / schema.name).write_bytes(schema.read_bytes())
    reports = tmp_path / "reports"
    run = _parity("load", "--backend", "serverless", "--users", "3", "--duration", "3",
                  "--think-time", "0", "--reports-dir", str(reports),
                  extra_env={"PARITY_CATALOG": str(catalog)})  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "load mix (default: the read-only scenarios)" in run.stdout
    doc = json.loads((reports / "load-serverless.json").read_text())
    names = {e["name"] for e in doc["endpoints"]}
    assert {"GET /health", "GET /api/mocs", "GET /api/users/me"} <= names, names
    assert all(name.startswith("GET ") for name in names)
    assert doc["overall"]["failures"] == 0, doc["failures_by_kind"]


def _gate_md(reports: Path, extra_env: dict[str, str] | None = None) -> str:
    _fresh_matrix(reports)
    gate = _parity("gate", "--stage", "10", "--reports-dir", str(reports), extra_env=extra_env)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    md = (reports / "gate-10.md").read_text()
    assert md.startswith("# Rollout gate, stage 10%: **NO-GO**"), md
    return md


def test_injected_latency_makes_the_gate_say_no_go_naming_p95(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = _parity("load", "--backend", "serverless", "--users", "4", "--duration", "4",
                  "--reports-dir", str(reports),
                  extra_env={"PARITY_SANDBOX_LATENCY": "700"})  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    overall = json.loads((reports / "load-serverless.json").read_text())["overall"]
    assert overall["requests"] > 0 and overall["p95_ms"] >= 700, overall
    # 700 ms a request gives few requests in 4 s: this gate accepts thin evidence
    # (min_requests) so that the criterion named is the one that broke
    toml = tmp_path / "parity.toml"
    # (a config file's other files default to its side: the catalog is named)
    toml.write_text(f'catalog = "{CATALOG.as_posix()}"\n[gate]\nmin_requests = 1\n')
    md = _gate_md(reports, {"PARITY_CONFIG": str(toml)})
    assert "| p95 latency | FAIL |" in md
    assert "| error rate | pass |" in md  # the criterion named is the one that broke


# The 5 % case. Stage 10 allows under 2 %. With n requests failing independently with
# p = 0.05, the measured rate has standard error sqrt(p(1-p)/n); its 3-sigma lower bound
# is above 2 % from n = 476 on (requests_to_resolve), so fewer requests than that could
# not tell 5 % from 2 % and the test refuses to judge them. Without think time 4 users
# send several hundred requests a second to the sandbox: 10 s give well over a thousand
# even on a busy 2-core CI machine (6 s gave 434 with six test processes on 2 cores).
INJECTED = 0.05
MIN_REQUESTS = requests_to_resolve(INJECTED, thresholds_for(10).max_error_rate, sigmas=3)


def test_five_percent_errors_make_the_gate_say_no_go_naming_the_error_rate(
    tmp_path: Path,
) -> None:
    assert MIN_REQUESTS == 476  # the figure the comment above states
    reports = tmp_path / "reports"
    run = _parity("load", "--backend", "serverless", "--users", "4", "--duration", "10",
                  "--think-time", "0", "--reports-dir", str(reports),
                  extra_env={"PARITY_SANDBOX_ERROR_RATE": str(INJECTED)})  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    doc = json.loads((reports / "load-serverless.json").read_text())
    assert doc["think_time_s"] == [0, 0]
    o = doc["overall"]
    n, failures = o["requests"], o["failures"]
    assert n >= MIN_REQUESTS, f"{n} requests cannot resolve 5 % from 2 %; need {MIN_REQUESTS}"

    # Only the injected errors count: every failure is a 500, and the sandbox's gateway
    # injected exactly that many (a write conflict, a 404 on a cleanup or a 401 would make
    # Locust's count differ from the gateway's).
    assert doc["failures_by_kind"] == {"HTTP 500": failures}, doc["failures_by_kind"]
    log = (reports / "sandbox-load.log").read_text()
    tally = re.search(r"(\d+) injected 500s in (\d+) /api requests", log)
    assert tally, log
    assert (failures, n) == (int(tally[1]), int(tally[2]))

    # The knob does what it says: 3-8 %, a band that is at least 4 standard errors wide
    # from n = 1900 on; a smaller run (a slow machine) widens it to 5 % +- 4 sigma rather
    # than make the test flaky.
    rate = o["error_rate"]
    sigma = math.sqrt(INJECTED * (1 - INJECTED) / n)
    low, high = min(0.03, INJECTED - 4 * sigma), max(0.08, INJECTED + 4 * sigma)
    assert low <= rate <= high, (rate, n)
    assert o["p95_ms"] < thresholds_for(10).p95_ms  # latency is not what fails

    md = _gate_md(reports)
    assert f"| error rate | FAIL | {rate:.2%} ({failures} of {n} requests) | < 2.0%," in md
    failed = [line.split(" | ")[0].lstrip("| ") for line in md.splitlines() if "| FAIL |" in line]
    assert failed == ["error rate"], md
