"""The rollout gate as a pure function, its thresholds, and ``parity gate`` on files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from parity.checks.load import parse_stats_json, percentile
from parity.core.errors import ConfigError
from parity.engine.gate import GateInputs, Thresholds, evaluate, render_markdown, thresholds_for

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SMOKE = frozenset({"GET /api/mocs", "GET /api/mocs/{mocId}"})


def _stamp(age: timedelta = timedelta(minutes=5)) -> str:
    return (NOW - age).isoformat(timespec="seconds")


def matrix(*cells: dict[str, Any], age: timedelta = timedelta(minutes=5)) -> dict[str, Any]:
    base = [{"endpoint": e, "check": "envelope", "state": "pass", "severity": None} for e in SMOKE]
    return {"schema_version": 1, "generated_at": _stamp(age), "cells": [*base, *cells]}


def load_doc(
    error_rate: float = 0.001, p95: float = 120.0, age: timedelta = timedelta(minutes=5)
) -> dict[str, Any]:
    requests = 1000
    overall = {
        "requests": requests,
        "failures": round(requests * error_rate),
        "error_rate": error_rate,
        "p50_ms": 40.0,
        "p95_ms": p95,
        "p99_ms": p95 * 1.5,
        "rps": 50.0,
    }
    return {
        "schema_version": 1,
        "backend": "serverless",
        "generated_at": _stamp(age),
        "overall": overall,
        "endpoints": [{"name": "GET /api/mocs", **overall}],
    }


def judge(
    m: dict[str, Any] | None = None,
    load: dict[str, Any] | None = None,
    stage: int = 10,
    thresholds: Thresholds | None = None,
    missing_load: bool = False,
) -> Any:
    docs = {"serverless": None if missing_load else (load or load_doc())}
    inputs = GateInputs(matrix() if m is None else m, SMOKE, docs)
    return evaluate(inputs, stage, thresholds or thresholds_for(stage), NOW)


def failed(verdict: Any) -> list[str]:
    return [c.name for c in verdict.failed]


def test_clean_inputs_are_a_go() -> None:
    verdict = judge()
    assert verdict.go and verdict.exit_code == 0
    md = render_markdown(verdict)
    assert md.splitlines()[0] == "# Rollout gate, stage 10%: **GO**"
    assert "| error rate | pass | 0.10% (1 of 1000 requests) | < 2.0%, >= 100 requests |" in md
    assert "| p95 latency | pass | 120 ms | < 600 ms (NA) |" in md


def test_latency_over_the_na_threshold_is_a_no_go_but_eu_allows_900() -> None:
    verdict = judge(load=load_doc(p95=700))
    assert not verdict.go and failed(verdict) == ["p95 latency"]
    assert "NO-GO" in render_markdown(verdict).splitlines()[0]
    eu = thresholds_for(10, {"region": "eu"})
    assert judge(load=load_doc(p95=700), thresholds=eu).go
    assert failed(judge(load=load_doc(p95=950), thresholds=eu)) == ["p95 latency"]


def test_five_percent_errors_is_a_no_go() -> None:
    verdict = judge(load=load_doc(error_rate=0.05))
    assert failed(verdict) == ["error rate"]
    assert "5.00% (50 of 1000 requests)" in verdict.failed[0].figure


def test_a_short_run_is_flagged_but_the_verdict_follows_the_measured_rate() -> None:
    from parity.engine.gate import rate_range

    low, high = rate_range(0, 150)
    assert low == 0 and 0.05 < high < 0.06  # 0 of 150 does not show a rate under 2 %
    assert rate_range(50, 1000)[0] > 0.03 and rate_range(1, 1000)[1] < 0.02
    short = load_doc(error_rate=0.0)
    short["overall"].update(requests=150, failures=0)
    verdict = judge(load=short)
    assert verdict.go  # above min_requests the plan's threshold is on the measured rate
    (criterion,) = [c for c in verdict.criteria if c.name == "error rate"]
    assert criterion.detail.startswith("150 requests are too few to tell this rate from 2.0%")
    assert "run longer or with more users" in render_markdown(verdict)
    resolved = [c for c in judge().criteria if c.name == "error rate"]
    assert resolved[0].detail == ""  # 1 of 1000 is clearly under 2 %


def test_fewer_requests_than_min_requests_is_a_no_go_like_a_missing_input() -> None:
    tiny = load_doc(error_rate=0.0)
    tiny["overall"].update(requests=21, failures=0)
    verdict = judge(load=tiny)
    assert not verdict.go and failed(verdict) == ["error rate"]
    assert verdict.failed[0].detail.startswith("only 21 requests (at least 100 needed")
    # configurable: a team that accepts thinner evidence says so in parity.toml
    lenient = judge(load=tiny, thresholds=thresholds_for(10, {"min_requests": 20}))
    assert lenient.go


def test_unaccepted_breaking_drift_on_a_smoke_endpoint_is_a_no_go() -> None:
    cell = {"endpoint": "GET /api/mocs", "check": "envelope", "state": "drift",
            "severity": "breaking"}  # fmt: skip
    verdict = judge(matrix(cell))
    assert len(verdict.failed) == 1
    assert verdict.failed[0].name.startswith("no unaccepted breaking drift")
    assert "GET /api/mocs [envelope: drift]" in verdict.failed[0].detail


def test_accepted_or_additive_or_non_smoke_drift_passes_below_100_but_not_at_100() -> None:
    cells = [
        {"endpoint": "GET /api/mocs", "check": "envelope", "state": "accepted",
         "severity": "breaking"},
        {"endpoint": "GET /api/mocs", "check": "headers", "state": "drift",
         "severity": "additive"},
        {"endpoint": "GET /api/albums", "check": "status", "state": "drift",
         "severity": "breaking"},
    ]  # fmt: skip
    assert judge(matrix(*cells)).go
    at_100 = judge(matrix(*cells), stage=100)
    assert not at_100.go
    assert "2 blocking finding(s) in 2 cell(s)" in at_100.failed[0].figure  # accepted never blocks


def test_stage_100_is_stricter() -> None:
    t = thresholds_for(100)
    assert (t.max_error_rate, t.p95_ms_na, t.p95_ms_eu, t.block_any_drift) == (
        0.01,
        500.0,
        800.0,
        True,
    )
    assert judge(load=load_doc(error_rate=0.015)).go
    assert failed(judge(load=load_doc(error_rate=0.015), stage=100)) == ["error rate"]


@pytest.mark.parametrize("what", ["matrix", "load"])
def test_missing_inputs_are_a_no_go_never_a_pass(what: str) -> None:
    verdict = judge(m={} if what == "matrix" else None, missing_load=what == "load")
    if what == "matrix":  # an empty document: no timestamp
        verdict = evaluate(GateInputs(None, SMOKE, {"serverless": load_doc()}), 10,
                           thresholds_for(10), NOW)  # fmt: skip
    assert not verdict.go
    names = failed(verdict)
    assert names[0] == "inputs present and fresh"
    name = "parity-matrix.json" if what == "matrix" else "load-serverless.json"
    assert f"{name} is missing" in verdict.failed[0].figure


@pytest.mark.parametrize("what", ["matrix", "load"])
def test_stale_inputs_are_a_no_go(what: str) -> None:
    old = timedelta(hours=30)
    m = matrix(age=old) if what == "matrix" else matrix()
    load = load_doc(age=old) if what == "load" else load_doc()
    verdict = judge(m, load)
    assert failed(verdict) == ["inputs present and fresh"]
    assert "is stale: 30.0 h old (limit 24 h)" in verdict.failed[0].figure
    assert judge(m, load, thresholds=thresholds_for(10, {"max_age_hours": 48})).go


def test_a_smoke_endpoint_absent_from_the_matrix_is_a_no_go() -> None:
    m = matrix()
    m["cells"] = [c for c in m["cells"] if c["endpoint"] != "GET /api/mocs"]
    verdict = judge(m)
    assert failed(verdict) == ["no unaccepted breaking drift (smoke endpoints)"]
    assert "1/2 smoke endpoints judged" in verdict.failed[0].figure
    assert "not judged: GET /api/mocs (not in the matrix)" in verdict.failed[0].detail


def _record(state: str, summary: str = "", scenario: str = "s") -> dict[str, Any]:
    return {"scenario": scenario, "backend": "serverless", "state": state, "summary": summary}


def _smoke_cells(m: dict[str, Any], **change: Any) -> None:
    for c in m["cells"]:
        if c["endpoint"] == "GET /api/mocs":
            c.update(change)


def test_a_smoke_endpoint_whose_cells_were_all_skipped_is_not_judged() -> None:
    refused = "writes refused on production"
    m = matrix()
    _smoke_cells(m, state="skipped", summary=refused, records=[_record("skipped", refused)])
    m["cells"].append({"endpoint": "GET /api/mocs", "check": "contract", "state": "not-testable",
                       "severity": None, "summary": "no token", "scenario": "s"})  # fmt: skip
    verdict = judge(m)
    assert not verdict.go and failed(verdict) == ["no unaccepted breaking drift (smoke endpoints)"]
    criterion = verdict.failed[0]
    assert criterion.figure == "0 blocking finding(s) in 0 cell(s), 1/2 smoke endpoints judged"
    assert criterion.detail == (
        "not judged: GET /api/mocs (skipped: writes refused on production; "
        "2 of 2 record(s) not judged, scenario(s) s)"
    )
    md = render_markdown(verdict)
    assert md.startswith("# Rollout gate, stage 10%: **NO-GO**")
    assert "not judged: GET /api/mocs (skipped: writes refused on production" in md


@pytest.mark.parametrize("other", ["not-testable", "not-applicable", "something-new"])
def test_only_a_verdict_judges_an_endpoint(other: str) -> None:
    m = matrix()
    _smoke_cells(m, state=other)
    verdict = judge(m)
    assert not verdict.go
    assert f"not judged: GET /api/mocs ({other}; 1 of 1 record(s) not judged" in (
        verdict.failed[0].detail
    )


def test_one_skipped_scenario_leaves_the_endpoint_not_judged() -> None:
    # the error scenarios ran, the success scenario was refused (in another column, as the
    # differential checks file a skipped case): still not judged, naming the scenario
    m = matrix()
    _smoke_cells(m, records=[_record("pass", scenario="unknown-id")])
    m["cells"].append({"endpoint": "GET /api/mocs", "check": "parity", "state": "skipped",
                       "records": [_record("skipped", "refused", "existing")]})  # fmt: skip
    verdict = judge(m)
    assert not verdict.go
    why = "skipped: refused; 1 of 2 record(s) not judged, scenario(s) existing"
    assert f"GET /api/mocs ({why})" in verdict.failed[0].detail


def test_only_the_catalog_scenarios_decide() -> None:
    """A check family's own variant (the fault header, never testable on production) does
    not block; a catalog scenario left unjudged does."""
    m = matrix()
    _smoke_cells(m, records=[_record("pass", scenario="default")])
    m["cells"].append({"endpoint": "GET /api/mocs", "check": "errors", "state": "not-testable",
                       "records": [_record("not-testable", "refused", "500-fault")]})  # fmt: skip
    scenarios = {"GET /api/mocs": frozenset({"default", "existing"})}
    docs = {"serverless": load_doc()}
    inputs = GateInputs(m, SMOKE, docs, smoke_scenarios=scenarios)
    assert evaluate(inputs, 10, thresholds_for(10), NOW).go
    assert not judge(m).go  # without the catalog's names every record counts
    m["cells"][-1]["records"] = [_record("skipped", "writes refused", "existing")]
    verdict = evaluate(inputs, 10, thresholds_for(10), NOW)
    assert not verdict.go and "scenario(s) existing" in verdict.failed[0].detail
    # records of none of its catalog scenarios: not in the matrix as far as the gate goes
    inputs = GateInputs(m, SMOKE, docs, smoke_scenarios={"GET /api/mocs": frozenset({"other"})})
    verdict = evaluate(inputs, 10, thresholds_for(10), NOW)
    assert "GET /api/mocs (not in the matrix)" in verdict.failed[0].detail


def test_not_applicable_neither_judges_nor_blocks() -> None:
    m = matrix()
    na = [_record("not-applicable", "no cache keys in the catalog")]
    m["cells"].append(
        {"endpoint": "GET /api/mocs", "check": "cache", "state": "not-applicable", "records": na}
    )
    assert judge(m).go  # the envelope cell judged it
    _smoke_cells(m, state="not-applicable", records=[_record("not-applicable", "n/a")])
    verdict = judge(m)  # nothing but not-applicable: no verdict
    assert not verdict.go and "GET /api/mocs (not-applicable: " in verdict.failed[0].detail


def test_a_failed_test_with_no_cell_blocks() -> None:
    m = matrix()
    m["summary"] = {
        "failed_outside": [{"test": "api_checks/test_smoke.py::test_x", "reason": "no"}]
    }
    verdict = judge(m)
    assert not verdict.go
    assert "api_checks/test_smoke.py::test_x [failed with no cell]" in verdict.failed[0].detail
    assert verdict.failed[0].figure.startswith("1 blocking finding(s) in 1 cell(s)")


def test_no_smoke_endpoint_is_never_a_go() -> None:
    inputs = GateInputs(matrix(), frozenset(), {"serverless": load_doc()})
    verdict = evaluate(inputs, 10, thresholds_for(10), NOW)
    assert not verdict.go
    drift = next(c for c in verdict.criteria if c.name.startswith("no unaccepted"))
    assert not drift.ok and "0/0 smoke endpoints judged" in drift.figure
    assert "no smoke endpoint to judge" in drift.detail


def test_gate_table_is_validated_and_layered() -> None:
    t = thresholds_for(25, {"max_error_rate": 0.03, "stage": {"25": {"p95_ms_na": 400}}})
    assert (t.max_error_rate, t.p95_ms) == (0.03, 400.0)
    assert thresholds_for(10, {"stage": {"25": {"p95_ms_na": 400}}}).p95_ms == 600.0
    with pytest.raises(ConfigError, match="unknown key 'max_eror_rate'"):
        thresholds_for(10, {"max_eror_rate": 0.1})
    with pytest.raises(ConfigError, match="invalid region"):
        thresholds_for(10, {"region": "apac"})


def test_locust_stats_become_per_endpoint_and_overall_figures(tmp_path: Path) -> None:
    assert percentile({"10": 90, "500": 9, "900": 1}, 0.95) == 500.0
    entries = [
        {"name": "GET /api/mocs", "method": "GET", "num_requests": 10, "num_failures": 1,
         "total_response_time": 100, "response_times": {"10": 10}, "start_time": 100.0,
         "last_request_timestamp": 105.0},
        {"name": "/api/wishlist", "method": "POST", "num_requests": 10, "num_failures": 0,
         "total_response_time": 2000, "response_times": {"200": 10}, "start_time": 100.0,
         "last_request_timestamp": 110.0},
    ]  # fmt: skip
    path = tmp_path / "run.json"
    path.write_text(json.dumps(entries))
    stats = parse_stats_json(path)
    assert [e["name"] for e in stats["endpoints"]] == ["GET /api/mocs", "POST /api/wishlist"]
    o = stats["overall"]
    assert (o["requests"], o["failures"], o["error_rate"]) == (20, 1, 0.05)
    assert (o["p50_ms"], o["p95_ms"], o["rps"]) == (10.0, 200.0, 2.0)


def _parity(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    return subprocess.run(
        [sys.executable, "-c", "from parity.cli.app import main; main()", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_parity_gate_command_writes_the_summary_and_exits_by_verdict(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    reports = tmp_path / "reports"
    reports.mkdir()
    from parity.core.catalog import load_catalog

    smoke = [e for e in load_catalog(ROOT / "fixtures/catalog.yaml").endpoints
             if "smoke" in e.tags]  # fmt: skip
    # a record per catalog scenario: what the gate looks for on each smoke endpoint
    cells = [{"endpoint": e.key, "check": "status", "state": "pass", "severity": None,
              "records": [{"scenario": sc.name, "state": "pass"} for sc in e.scenarios]}
             for e in smoke]  # fmt: skip
    doc = {"generated_at": now.isoformat(), "cells": cells}
    (reports / "parity-matrix.json").write_text(json.dumps(doc))
    base = ["gate", "--reports-dir", str(reports), "--catalog", str(ROOT / "fixtures/catalog.yaml")]

    result = _parity(*base, "--stage", "25", cwd=tmp_path)  # no load figures yet
    assert result.returncode == 1, result.stderr
    md = (reports / "gate-25.md").read_text()
    assert md.startswith("# Rollout gate, stage 25%: **NO-GO**")
    assert "load-serverless.json is missing" in md

    load = load_doc()
    load["generated_at"] = now.isoformat()
    (reports / "load-serverless.json").write_text(json.dumps(load))
    result = _parity(*base, "--stage", "25", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GO" in result.stdout

    (tmp_path / "parity.toml").write_text("[gate]\np95_ms_na = 100\n")
    result = _parity(*base, "--stage", "25", cwd=tmp_path)
    assert result.returncode == 1
    assert "| p95 latency | FAIL | 120 ms | < 100 ms (NA) |" in (reports / "gate-25.md").read_text()

    assert _parity(*base, "--stage", "30", cwd=tmp_path).returncode == 2


def test_matrix_html_shows_the_load_figures_of_both_backends_side_by_side(tmp_path: Path) -> None:
    from parity.report.html import write_html

    for backend, p95 in (("express", 80.0), ("serverless", 120.0)):
        doc = load_doc(p95=p95)
        doc.update(backend=backend, users=5, duration_s=5)
        (tmp_path / f"load-{backend}.json").write_text(json.dumps(doc))
    html = write_html({"summary": {}}, tmp_path / "parity-matrix.html").read_text()
    table = html[html.index('<table id="load"') :]
    table = table[: table.index("</table>")]
    assert table.index(">express<") < table.index(">serverless<")
    assert "<td>80.0</td>" in table and "<td>120.0</td>" in table
    assert '<td class="mono">GET /api/mocs</td>' in table and "overall" in table


def test_the_gate_speaks_in_findings() -> None:
    # one cause, three failing cells on the smoke endpoints: one blocking finding
    diff = {
        "path": "status",
        "kind": "status",
        "expected": 401,
        "actual": 403,
        "severity": "breaking",
        "origin": "application",
        "accepted_by": None,
        "note": "",
    }
    cells = [
        {"endpoint": e, "check": c, "state": "drift", "severity": "breaking",
         "records": [{"scenario": "bad-token", "state": "drift", "severity": "breaking",
                      "evidence": {"differences": [diff]}}]}
        for e, c in (("GET /api/mocs", "auth"), ("GET /api/mocs/{mocId}", "auth"),
                     ("GET /api/mocs", "status"))
    ]  # fmt: skip
    verdict = judge(matrix(*cells))
    assert not verdict.go
    drift = verdict.failed[0]
    assert drift.figure.startswith("1 blocking finding(s) in 3 cell(s)"), drift.figure
    assert "status 401 becomes 403: GET /api/mocs [auth: drift]" in drift.detail
    assert verdict.findings_line == "1 finding (1 breaking)"
    md = render_markdown(verdict)
    assert "Findings: 1 finding (1 breaking)." in md and "## Findings" in md
    assert "| status 401 becomes 403 | 2 | 3 |" in md


def test_a_missing_input_names_the_command_that_makes_it_and_a_bad_region_its_option(
    tmp_path: Path,
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "parity", "gate", "--stage", "10", "--reports-dir", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert "parity-matrix.json is missing (run `pytest api_checks" in run.stdout, run.stdout
    assert "load-serverless.json is missing (run `parity load`)" in run.stdout, run.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "parity", "gate", "--stage", "10", "--region", "xx"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "--region / PARITY_GATE_REGION" in bad.stderr, bad.stderr
    assert "gate.region" not in bad.stderr
