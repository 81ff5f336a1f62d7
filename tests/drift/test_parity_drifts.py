"""The differential engine and the parity matrix end to end: the QA checks
(``pytest api_checks -m parity``) run against a sandbox as a user would run them, and the
matrix they write (``PARITY_REPORTS_DIR``) is read back.

- the clean pair passes: no drift, missing or error cell, accepted cells carry their reason,
  learned noise is only timestamps and request ids, and ``-n 2`` builds the same cells;
- every drift (several per sandbox when they touch different endpoints or differ in what
  they change) fails the run and shows as a non-pass cell for the endpoint and check it
  touches, with the right origin, while the cells no drift touches stay clean;
- a backend killed mid-run turns the remaining cells into ``error`` with the reason, and
  the matrix is still written.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.engine.launcher import SandboxProcess
from tests.drift.checks import ROOT, CheckRun, run_checks
from tests.drift.test_findings_drifts import drift_findings
from tests.drift.test_gate_drift import gate_with_healthy_load

PARITY = ["api_checks", "-m", "parity"]
XDIST_SLICE = [
    "api_checks/test_parity.py",
    "api_checks/test_consistency.py",
    "-k",
    "test_consistency or health or mocs.get or mocs.create or albums.list or wishlist.list "
    "or users.me",
]


@dataclass
class Run:
    checks: CheckRun
    matrix: dict[str, Any]

    def cell(self, endpoint: str, check: str) -> dict[str, Any]:
        for c in self.matrix["cells"]:
            if c["endpoint"] == endpoint and c["check"] == check:
                return c
        raise AssertionError(f"no cell {endpoint} x {check}")

    def states(self) -> dict[tuple[str, str], str]:
        return {(c["endpoint"], c["check"]): c["state"] for c in self.matrix["cells"]}


def run_parity(env: dict[str, str], args: list[str], tmp: Path, *extra_env: tuple[str, str]) -> Run:
    reports = tmp / "reports"
    env = {**env, "PARITY_REPORTS_DIR": str(reports), **dict(extra_env)}
    checks = run_checks(env, args, tmp / "junit.xml")
    path = reports / "parity-matrix.json"
    assert path.exists(), checks.output[-3000:]
    return Run(checks, json.loads(path.read_text()))


# --- the clean pair --------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with SandboxProcess(tmp_path_factory.mktemp("clean") / "sandbox.env") as sb:
        yield {**sb.env, "PARITY_BACKEND": "both"}


def test_clean_pair_is_at_parity_serial_and_with_xdist(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    run = run_parity(clean_env, PARITY, tmp_path / "serial")
    assert run.checks.returncode == 0, run.checks.output[-3000:]
    bad = {k: s for k, s in run.states().items() if s in ("drift", "missing", "error")}
    assert bad == {}
    summary = run.matrix["summary"]
    assert summary["at_parity"] == summary["endpoints"] >= 29
    checks = set(run.matrix["checks"])
    assert {"catalog", "status", "headers", "envelope", "consistency", "search-lag", "cache"} <= (
        checks
    )
    # accepted shows as accepted, with its reason
    accepted = [c for c in run.matrix["cells"] if c["state"] == "accepted"]
    assert accepted and all("authorizer" in c["summary"] for c in accepted)
    assert all(c["origin"] == "gateway" for c in accepted)
    # learned noise: only timestamps and request ids; nothing dropped silently
    learned = [n for n in run.matrix["noise"] if n["source"] == "learned"]
    assert learned and {n["kind"] for n in learned} <= {"timestamp", "request-id"}, learned
    # the search lag is measured, and within the bound
    lags = [m for m in run.matrix["measurements"] if m["name"] == "search lag"]
    assert len(lags) == 4 and all(m["value"] is not None and m["value"] < 5 for m in lags)
    baseline = {b["id"]: b["state"] for b in run.matrix["baseline"]}
    assert baseline["authorizer-401-shape"] == "used"
    assert Path(run.matrix["meta"]["baseline"]).name == "parity-baseline.toml"
    # and the rollout gate reads this clean matrix as a go
    gate, md = gate_with_healthy_load(tmp_path / "serial" / "reports")
    assert gate.returncode == 0 and "**GO**" in md, md

    # pytest -n 2: each worker starts its own sandbox (no URL given), as on CI. A slice of
    # the checks (every scenario of these endpoints) keeps it short.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env["PARITY_REPORTS_DIR"] = str(tmp_path / "xdist")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-q", *XDIST_SLICE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    parallel = json.loads((tmp_path / "xdist" / "parity-matrix.json").read_text())

    def cells(matrix: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
        return [(c["endpoint"], c["check"], c["state"], c["origin"]) for c in matrix["cells"]]

    keys = {(c["endpoint"], c["check"]) for c in parallel["cells"]}
    assert len(keys) >= 15
    assert cells(parallel) == [c for c in cells(run.matrix) if (c[0], c[1]) in keys]


def test_uncovered_route_and_baseline_lifecycle(clean_env: dict[str, str], tmp_path: Path) -> None:
    # One run, two findings: a catalog without wishlist.search (Express still serves it),
    # and a baseline whose authorizer entry has expired and whose other entry is stale.
    doc = yaml.safe_load((ROOT / "fixtures" / "catalog.yaml").read_text())
    doc["endpoints"] = [e for e in doc["endpoints"] if e["id"] != "wishlist.search"]
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump(doc, sort_keys=False))
    baseline = tmp_path / "baseline.toml"
    baseline.write_text(
        '[[accept]]\nid = "authorizer"\nendpoint = "* /api/*"\ncheck = "envelope"\npath = "*"\n'
        'origin = "gateway"\nstatus = 401\nreason = "the JWT authorizer answers first"\n'
        "expires = 2020-01-01\n\n"
        '[[accept]]\nid = "fixed-long-ago"\nendpoint = "GET /api/users/me"\ncheck = "envelope"\n'
        'path = "data.username"\nreason = "renamed once, fixed since"\nexpires = 2099-01-01\n'
    )
    run = run_parity(
        clean_env,
        [
            "api_checks/test_coverage.py",
            "api_checks/test_parity.py",
            "-k",
            "test_coverage or users.me",
        ],
        tmp_path,
        ("PARITY_CATALOG", str(catalog)),
        ("PARITY_BASELINE", str(baseline)),
    )
    assert run.checks.returncode == 1
    cell = run.cell("GET /api/wishlist/search", "catalog")
    assert cell["state"] == "missing" and "not in the catalog" in cell["summary"]
    assert run.cell("GET /api/wishlist", "catalog")["state"] == "pass"
    # the expired acceptance fails again, and says why
    cell = run.cell("GET /api/users/me", "envelope")
    assert cell["state"] == "drift" and cell["scenario"] in ("no-token", "malformed-token")
    notes = " ".join(d["note"] for d in cell["evidence"]["differences"])
    assert "baseline entry 'authorizer' expired on 2020-01-01" in notes
    states = {b["id"]: b["state"] for b in run.matrix["baseline"]}
    assert states == {"authorizer": "expired", "fixed-long-ago": "stale"}
    assert "baseline entry 'fixed-long-ago' is stale" in run.checks.output


def test_cassettes_stand_in_for_express(clean_env: dict[str, str], tmp_path: Path) -> None:
    # --backend=serverless: Express is gone, its recorded answers are the reference
    env = {k: v for k, v in clean_env.items() if not k.startswith("PARITY_EXPRESS")}
    run = run_parity(
        {**env, "PARITY_BACKEND": "serverless"},
        ["api_checks/test_parity.py", "-k", "health or mocs.get or wishlist.list or users.me"],
        tmp_path,
    )
    assert run.checks.returncode == 0, run.checks.output[-3000:]
    judged = [c for c in run.matrix["cells"] if c["state"] in ("pass", "accepted")]
    assert len(judged) >= 12
    sources = {
        r["evidence"]["reference_source"]
        for c in judged
        for r in [*c["records"], {"evidence": c["evidence"]}]
        if r.get("evidence")
    }
    assert sources == {"cassette"}
    assert set(run.matrix["meta"]["backends"]) == {"serverless"}


# --- drifts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """Where a drift must show: the cell, its origin, and the difference that proves it."""

    drift: str
    endpoint: str
    check: str
    origin: str
    scenario: str
    path: str
    kind: str
    state: str = "drift"
    severity: str = "breaking"


# Drifts in one group touch different endpoints, or the same endpoint in different ways
# (the expected difference tells them apart); one sandbox and one run per group.
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "differential": (
        [
            "missing-endpoint",
            "status-code",
            "pagination",
            "extra-field",
            "message-text",
            "order",
            "header-content-type",
            "type-change",
            "auth-bypass",
            "search-lag",
            "stale-cache",
        ],
        [
            "api_checks/test_parity.py",
            "api_checks/test_consistency.py",
            "-k",
            "test_consistency or health or mocs.stats or mocs.create or mocs.get or mocs.update "
            "or images.list or albums.list or wishlist.list or users.me",
        ],
    ),
    "contract-shapes": (
        ["field-rename", "date-format", "null-vs-absent", "error-shape"],
        [
            "api_checks/test_parity.py",
            "-k",
            "health or mocs.get or wishlist.list or images.get or albums.get",
        ],
    ),
}
EXPECT: list[Expect] = [
    Expect(
        "missing-endpoint",
        "GET /api/mocs/stats",
        "status",
        "gateway",
        "default",
        "status",
        "missing-endpoint",
        state="missing",
    ),
    Expect("status-code", "POST /api/mocs", "status", "application", "created", "status", "status"),
    Expect(
        "pagination", "GET /api/images", "envelope", "application", "by-album", "data.page", "value"
    ),
    Expect(
        "extra-field",
        "GET /api/mocs/{mocId}",
        "envelope",
        "application",
        "existing",
        "data.viewCount",
        "added",
        severity="additive",
    ),
    Expect(
        "message-text",
        "GET /api/albums",
        "envelope",
        "application",
        "default",
        "message",
        "value",
        severity="cosmetic",
    ),
    Expect(
        "order", "GET /api/wishlist", "envelope", "application", "default", "data.items", "order"
    ),
    Expect(
        "header-content-type",
        "GET /api/users/me",
        "headers",
        "application",
        "default",
        "content-type",
        "header-changed",
    ),
    Expect(
        "type-change",
        "POST /api/mocs",
        "envelope",
        "application",
        "created",
        "data.pieceCount",
        "type",
    ),
    Expect(
        "auth-bypass",
        "PATCH /api/mocs/{mocId}",
        "status",
        "application",
        "other-user",
        "status",
        "status",
    ),
    Expect(
        "search-lag",
        "GET /api/mocs/search",
        "search-lag",
        "application",
        "express-to-serverless",
        "",
        "",
    ),
    Expect("stale-cache", "GET /api/mocs", "cache", "application", "express-to-serverless", "", ""),
    Expect(
        "field-rename",
        "GET /api/mocs/{mocId}",
        "envelope",
        "application",
        "existing",
        "data.pieceCount",
        "removed",
    ),
    Expect(
        "date-format",
        "GET /api/wishlist",
        "envelope",
        "application",
        "default",
        "data.items[0].createdAt",
        "type",
    ),
    Expect(
        "null-vs-absent",
        "GET /api/images/{imageId}",
        "envelope",
        "application",
        "owner",
        "data.albumId",
        "removed",
    ),
    Expect(
        "error-shape",
        "GET /api/albums/{albumId}",
        "envelope",
        "application",
        "unknown-id",
        "error",
        "removed",
    ),
]
# Cells a group's drifts change besides their own: a drift on the wishlist list reaches
# the reorder check through its setup step (it sends the listed ids back).
COLLATERAL = {("POST /api/wishlist/reorder", "envelope")}


def group_of(drift: str) -> str:
    return next(g for g, (drifts, _) in GROUPS.items() if drift in drifts)


def test_every_drift_is_expected_once() -> None:
    grouped = [d for drifts, _ in GROUPS.values() for d in drifts]
    assert sorted(grouped) == sorted(e.drift for e in EXPECT)
    assert len(set(grouped)) == len(grouped)


def shows(run: Run, expect: Expect) -> str | None:
    """None when ``expect`` holds in the matrix, else what is wrong."""
    try:
        cell = run.cell(expect.endpoint, expect.check)
    except AssertionError as exc:
        return str(exc)
    if cell["state"] != expect.state:
        return f"cell is {cell['state']}, expected {expect.state}"
    records = [r for r in cell["records"] if r["scenario"] == expect.scenario]
    if not records:
        return f"no record for scenario {expect.scenario}"
    record = records[0]
    if (record["state"], record["origin"]) != (expect.state, expect.origin):
        return f"record is {record['state']} with origin {record['origin']}"
    if expect.path:
        evidence = record["evidence"] or cell["evidence"]
        found = [(d["path"], d["kind"], d["severity"]) for d in evidence["differences"]]
        if (expect.path, expect.kind, expect.severity) not in found:
            return f"no {expect.kind} difference at {expect.path}: {found[:5]}"
    return None


# One test per group (not per drift): a group's sandbox and run are shared by its drifts,
# and pytest-xdist must not start them twice on two workers.
@pytest.mark.parametrize("group", list(GROUPS))
def test_drifts_show_in_the_matrix(group: str, tmp_path: Path) -> None:
    drifts, args = GROUPS[group]
    with SandboxProcess(tmp_path / "sandbox.env", drifts=drifts) as sb:
        run = run_parity({**sb.env, "PARITY_BACKEND": "both"}, args, tmp_path)
    assert run.checks.returncode == 1, run.checks.output[-2000:]
    expects = [e for e in EXPECT if e.drift in drifts]
    problems = {e.drift: p for e in expects if (p := shows(run, e)) is not None}
    print(f"\nparity drifts caught ({group}): {len(expects) - len(problems)} of {len(expects)}")
    assert problems == {}
    # the cells no drift of the group touches stay clean
    touched = {e.endpoint for e in expects}
    spilled = {
        key: state
        for key, state in run.states().items()
        if state not in ("pass", "accepted") and key[0] not in touched and key not in COLLATERAL
    }
    assert spilled == {}
    assert any(s == "pass" for s in run.states().values()), "the run judged nothing"
    # one finding per drift, however many cells it fails; a second one only beside it, in
    # the same cells (issue 18, tests/drift/test_findings_drifts.py)
    mine, problems = drift_findings(run.matrix, expects)
    assert problems == {} and len(set(mine.values())) == len(expects), (mine, problems)


# --- a backend dies mid-run -------------------------------------------------------------


def test_backend_dying_mid_run_turns_the_rest_into_errors(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path / "sandbox.env") as sb:
        env = {**sb.env, "PARITY_BACKEND": "both"}
        run = run_parity(
            env,
            [
                "api_checks/test_parity.py",
                "-k",
                "health or mocs.list or mocs.search",
                "-p",
                "tests.drift.kill_backend",
            ],
            tmp_path,
            ("PARITY_TEST_KILL_AFTER", "4"),
        )
        assert sb._proc is not None and sb._proc.poll() == -signal.SIGKILL
    assert run.checks.returncode == 1
    by_scenario: dict[str, set[str]] = {}
    for cell in run.matrix["cells"]:
        for r in cell["records"]:
            by_scenario.setdefault(f"{cell['endpoint']} {r['scenario']}", set()).add(r["state"])
    before = [k for k, s in by_scenario.items() if s <= {"pass", "accepted"}]
    after = [k for k, s in by_scenario.items() if s == {"error"}]
    assert len(before) == 4 and len(after) == len(by_scenario) - 4 >= 5, by_scenario
    errors = [
        r["summary"] for c in run.matrix["cells"] for r in c["records"] if r["state"] == "error"
    ]
    assert all("unreachable" in e or "failed" in e for e in errors), errors[:3]
    assert any("express backend at http" in e or "serverless backend at http" in e for e in errors)
    assert (tmp_path / "reports" / "parity-matrix.html").exists()
