"""Findings under sandbox drifts (issue 18): each drift is one finding, however many cells
it fails, and what noise hides is still seen.

- Five drifts in one sandbox: three that only the comparison of a noise value's *format*
  catches (a timestamp written another way on one resource, an id that is a number
  instead of a UUID on a field declared noise, a URL on another host), one that changes
  only a header's spelling (a charset: a cosmetic finding, never failing, the gate says
  go), and a status change: five findings, one per drift. With the catalog's
  ``checks.headers.cosmetic_matters: [content-type]`` the same charset is an open breaking
  finding and the gate says no-go, naming it.
- :func:`drift_findings` maps a group's drifts onto the findings of its run; the groups of
  ``test_parity_drifts.py`` call it on the runs they make anyway (no sandbox of their own).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

from parity.engine.gate import GateInputs, evaluate, thresholds_for
from parity.engine.launcher import SandboxProcess
from tests.drift.checks import ROOT

CATALOG = ROOT / "fixtures" / "catalog.yaml"


class Expectation(Protocol):
    """What a drift test expects of a drift (``test_parity_drifts.Expect``), read-only."""

    @property
    def drift(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    @property
    def check(self) -> str: ...
    @property
    def scenario(self) -> str: ...
    @property
    def path(self) -> str: ...


def _generalise(path: str) -> str:
    return re.sub(r"\[\d+\]", "[*]", path)


def drift_findings(
    matrix: dict[str, Any], expects: Iterable[Expectation]
) -> tuple[dict[str, str], dict[str, str]]:
    """(drift -> the id of its finding, problems). Each drift's cell must belong to one
    open finding (the one at the drift's path when several share the cell), no two drifts
    to the same, and every other open finding must share a cell with a drift's finding:
    the matrix then says why a drift has more than one (``same_cells``)."""
    open_ = [f for f in matrix["findings"] if f["state"] == "open"]
    mine: dict[str, str] = {}
    problems: dict[str, str] = {}
    for e in expects:
        here = [
            f
            for f in open_
            if any(
                c["endpoint"] == e.endpoint
                and c["check"] == e.check
                and e.scenario in c["scenarios"]
                for c in f["cells"]
            )
        ]
        if len(here) > 1 and e.path:
            at = [f for f in here if _generalise(e.path) in f["paths"]]
            here = at or here
        if len(here) != 1:
            problems[e.drift] = f"{len(here)} findings in its cell: {[f['title'] for f in here]}"
            continue
        mine[e.drift] = here[0]["id"]
    taken: dict[str, str] = {}
    for drift, fid in mine.items():
        if fid in taken:
            problems[drift] = f"shares finding {fid} with {taken[fid]}"
        taken[fid] = drift
    for f in open_:
        if f["id"] in taken:
            continue
        if not set(f.get("same_cells", [])) & set(taken):
            problems[f["id"]] = f"a finding no drift explains: {f['title']} {f['cells'][:3]}"
    return mine, problems


# --- five drifts, five findings ---------------------------------------------------------

DRIFTS = ["timestamp-format", "id-format", "url-host", "charset", "status-code"]
ARGS = [
    "api_checks/test_parity.py",
    "-k",
    "health or albums.get or images.get or mocs.get or albums.list or mocs.create",
]
#: drift -> (endpoint, check, path, format pattern): the format drifts' only trace
FORMATS = {
    "timestamp-format": (
        "GET /api/albums/{albumId}",
        "envelope",
        "data.createdAt",
        "ISO 8601 (ms, Z) -> ISO 8601 (seconds, +hh:mm)",
    ),
    "id-format": ("GET /api/images/{imageId}", "envelope", "data.id", "uuid -> integer as text"),
    "url-host": (
        "GET /api/mocs/{mocId}",
        "envelope",
        "data.files[*].url",
        "URL http://127.0.0.1 -> URL http://files.example.net",
    ),
}


def _pytest(env: dict[str, str], reports: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", *args],
        cwd=ROOT,
        env={**clean, **env, "PARITY_BACKEND": "both", "PARITY_REPORTS_DIR": str(reports)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One sandbox with the five drifts: the run over their endpoints, and a run of the
    charset's endpoint alone."""
    tmp = tmp_path_factory.mktemp("noise-formats")
    with SandboxProcess(tmp / "sandbox.env", drifts=DRIFTS) as sb:
        five = _pytest(sb.env, tmp / "five", *ARGS)
        alone = _pytest(sb.env, tmp / "charset", "api_checks/test_parity.py", "-k", "albums.list")
        # the same run with the catalog saying a content type's spelling matters
        strict = tmp / "catalog-spelling-matters.yaml"
        strict.write_text(
            CATALOG.read_text(encoding="utf-8").replace(
                "\nchecks:\n", "\nchecks:\n  headers: {cosmetic_matters: [content-type]}\n", 1
            ),
            encoding="utf-8",
        )
        matters = _pytest(
            {**sb.env, "PARITY_CATALOG": str(strict)},
            tmp / "matters",
            "api_checks/test_parity.py",
            "-k",
            "albums.list",
        )
    yield {
        "five": five,
        "matrix": json.loads((tmp / "five" / "parity-matrix.json").read_text()),
        "alone": alone,
        "charset": json.loads((tmp / "charset" / "parity-matrix.json").read_text()),
        "matters": matters,
        "charset_matters": json.loads((tmp / "matters" / "parity-matrix.json").read_text()),
    }


DRIFT_ENDPOINTS = {
    "GET /api/albums/{albumId}",
    "GET /api/images/{imageId}",
    "GET /api/mocs/{mocId}",
    "GET /api/albums",
    "POST /api/mocs",
}


def test_five_drifts_are_five_findings(runs: dict[str, Any]) -> None:
    assert runs["five"].returncode == 1, runs["five"].stdout[-3000:]
    matrix = runs["matrix"]
    # the drifts' findings: not accepted, about the drifts' endpoints only (the clean pair's
    # own notes, such as JSON's charset spelt out on every endpoint, span them all)
    found = [
        f
        for f in matrix["findings"]
        if f["state"] != "accepted" and set(f["endpoints"]) <= DRIFT_ENDPOINTS
    ]
    assert len(found) == 5, [f["title"] for f in found]
    assert matrix["summary"]["findings"]["open"] == 4
    assert "4 findings (4 breaking)" in runs["five"].stdout
    status = next(f for f in found if f["kind"] == "status")
    assert status["title"] == "status 201 becomes 200"
    assert status["endpoints"] == ["POST /api/mocs"]


@pytest.mark.parametrize("drift", list(FORMATS))
def test_only_the_format_comparison_catches_a_change_under_noise(
    runs: dict[str, Any], drift: str
) -> None:
    endpoint, check, path, pattern = FORMATS[drift]
    matrix = runs["matrix"]
    (finding,) = [f for f in matrix["findings"] if f["kind"] == "format" and path in f["paths"]]
    assert finding["state"] == "open" and finding["severity"] == "breaking"
    assert finding["endpoints"] == [endpoint] and finding["checks"] == [check]
    assert pattern in finding["title"], finding["title"]
    assert "[[accept]]" in finding["baseline"] and "format" in finding["action"]
    cell = next(c for c in matrix["cells"] if (c["endpoint"], c["check"]) == (endpoint, check))
    assert cell["state"] == "drift"
    diffs = [
        d
        for r in cell["records"]
        if r["state"] == "drift"
        for d in (r["evidence"] or cell["evidence"])["differences"]
    ]
    # the value is declared noise: nothing but its format differs
    assert diffs and {d["kind"] for d in diffs} == {"format"}, diffs
    assert all("noise: values are not compared, formats are" in d["note"] for d in diffs)


def test_a_charset_is_a_cosmetic_finding_that_never_fails(runs: dict[str, Any]) -> None:
    for matrix in (runs["matrix"], runs["charset"]):
        (spelt,) = [
            f
            for f in matrix["findings"]
            if f["kind"] == "header-normalised" and "charset=UTF-8" in f["title"]
        ]
        assert spelt["endpoints"] == ["GET /api/albums"]
        assert spelt["state"] == "reported" and spelt["severity"] == "cosmetic"
        assert spelt["title"].startswith("content-type spelt differently")
        assert spelt["baseline"] is None  # nothing to accept: it fails nothing
        cell = next(
            c
            for c in matrix["cells"]
            if (c["endpoint"], c["check"]) == ("GET /api/albums", "headers")
        )
        assert cell["state"] == "pass"
    # alone, it fails neither the run nor the gate, even at 100 % (any failing cell blocks)
    assert runs["alone"].returncode == 0, runs["alone"].stdout[-3000:]
    # its own note, and the clean pair's (vary's case, ...)
    assert re.search(r"^0 findings; \d+ cosmetic notes", runs["alone"].stdout, re.M)
    load = {"generated_at": datetime.now(UTC).isoformat(), "overall": {
        "requests": 1000, "failures": 0, "error_rate": 0.0, "p95_ms": 100.0}}  # fmt: skip
    inputs = GateInputs(runs["charset"], frozenset({"GET /api/albums"}), {"serverless": load})
    verdict = evaluate(inputs, 100, thresholds_for(100))
    assert verdict.go, [(c.name, c.figure, c.detail) for c in verdict.failed]
    assert "cosmetic note" in verdict.findings_line


def test_a_charset_whose_spelling_matters_fails_the_gate(runs: dict[str, Any]) -> None:
    """``checks.headers.cosmetic_matters: [content-type]``: the same charset drift is an
    open, breaking finding; the run fails and the gate says no-go, naming it."""
    matrix = runs["charset_matters"]
    assert runs["matters"].returncode == 1, runs["matters"].stdout[-3000:]
    assert not [
        f
        for f in matrix["findings"]
        if f["kind"] == "header-normalised" and "content-type" in f["title"]
    ]
    opened = [f for f in matrix["findings"] if f["state"] == "open"]
    # every open finding is a headers cell's: the drift's spelling, and the sandbox's own
    # (the gateway's 401 spells its content type otherwise: part of that answer's finding)
    titles = [f["title"] for f in opened]
    assert opened and all("headers" in f["checks"] for f in opened), titles
    (finding,) = [f for f in opened if "charset=UTF-8" in f["title"]]
    assert finding["title"].startswith("content-type header"), titles
    assert finding["severity"] == "breaking" and finding["checks"] == ["headers"]
    assert finding["endpoints"] == ["GET /api/albums"], finding["endpoints"]
    cell = next(
        c for c in matrix["cells"] if (c["endpoint"], c["check"]) == ("GET /api/albums", "headers")
    )
    assert cell["state"] == "drift"
    load = {"generated_at": datetime.now(UTC).isoformat(), "overall": {
        "requests": 1000, "failures": 0, "error_rate": 0.0, "p95_ms": 100.0}}  # fmt: skip
    inputs = GateInputs(matrix, frozenset({"GET /api/albums"}), {"serverless": load})
    verdict = evaluate(inputs, 100, thresholds_for(100))
    assert not verdict.go
    (failed,) = [c for c in verdict.failed if c.name.startswith("no unaccepted")]
    assert finding["id"] in failed.detail and "content-type header" in failed.detail


def test_each_drift_is_its_own_finding(runs: dict[str, Any]) -> None:
    from dataclasses import dataclass

    @dataclass
    class Want:
        drift: str
        endpoint: str
        check: str
        scenario: str
        path: str

    wants = [
        Want("timestamp-format", "GET /api/albums/{albumId}", "envelope", "owner",
             "data.createdAt"),
        Want("id-format", "GET /api/images/{imageId}", "envelope", "owner", "data.id"),
        Want("url-host", "GET /api/mocs/{mocId}", "envelope", "with-file",
             "data.files[0].url"),
        Want("status-code", "POST /api/mocs", "status", "created", "status"),
    ]  # fmt: skip
    mine, problems = drift_findings(runs["matrix"], wants)
    assert problems == {} and len(set(mine.values())) == 4, (mine, problems)
