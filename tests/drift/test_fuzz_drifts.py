"""Drifts only generated inputs find (issue #9): one sandbox carries ``search-unicode``
(serverless 500s on an emoji search term) and ``limit-edge`` (serverless accepts limit=0
and 101 on GET /api/images). The differential query fuzz checks (``pytest -m fuzz``, fixed
seed, 30 examples an endpoint) find both within the budget, each as its endpoint's ``fuzz``
cell with a minimal input and a reproducing curl line, leave the other fuzz cells green, and
store the findings in Hypothesis' example database, from which a one-example rerun replays
them. Another carries ``title-length`` (serverless accepts a MOC title over 200 characters),
which only the body fuzz checks find, shrunk to a 201-character title."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.engine.launcher import SandboxProcess
from tests.drift.checks import run_checks

FUZZ = ["api_checks/test_fuzz_differential.py", "-m", "fuzz"]


@pytest.fixture(scope="module")
def drift_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("fuzz-drift")
    with SandboxProcess(tmp / "sandbox.env", drifts=["search-unicode", "limit-edge"]) as sb:
        yield {**sb.env, "PARITY_BACKEND": "both", "PARITY_FUZZ_BUDGET": "60"}


def _cells(reports: Path) -> dict[str, dict[str, Any]]:
    matrix = json.loads((reports / "parity-matrix.json").read_text())
    return {c["endpoint"]: c for c in matrix["cells"] if c["check"] == "fuzz"}


def test_both_drifts_are_found_minimal_reproducible_and_replayed(
    drift_env: dict[str, str], tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    env = {**drift_env, "PARITY_REPORTS_DIR": str(reports)}
    # Query fuzzing only (the body checks have a drift test of their own below).
    run = run_checks(env, [*FUZZ, "-k", "not body"], tmp_path / "junit.xml")
    assert run.returncode == 1, run.output[-3000:]
    assert run.failed() == {
        "test_fuzz_differential[mocs.search]",
        "test_fuzz_differential[images.list]",
    }, run.output[-3000:]
    cells = _cells(reports)
    search = cells["GET /api/mocs/search"]
    assert search["state"] == "drift" and search["severity"] == "breaking"
    query = search["evidence"]["query"]
    assert set(query) == {"q"} and len(query["q"]) <= 2  # shrunk to (about) one emoji
    assert any(ord(ch) > 0xFFFF or 0x2600 <= ord(ch) <= 0x27BF for ch in query["q"])
    assert "status 200 -> 500" in search["summary"]
    curl = search["evidence"]["curl"]["serverless"]
    assert curl.startswith("curl ") and "/api/mocs/search?q=%" in curl

    images = cells["GET /api/images"]
    assert images["state"] == "drift"
    assert images["evidence"]["query"] in ({"limit": 0}, {"limit": 101})
    assert "status 400 -> 200" in images["summary"]
    assert "Authorization: Bearer $PARITY_TOKEN_ALICE" in images["evidence"]["curl"]["serverless"]
    others = {
        e: c["state"] for e, c in cells.items() if e not in {search["endpoint"], images["endpoint"]}
    }
    assert others and set(others.values()) == {"pass"}, others

    # The minimal examples are in Hypothesis' database: one example an endpoint replays them.
    database = reports / "hypothesis"
    assert any((database / "mocs.search").rglob("*")) and any((database / "images.list").rglob("*"))
    again = run_checks(
        {**env, "PARITY_FUZZ_EXAMPLES": "1"},
        [*FUZZ, "-k", "not body and (mocs.search or images.list)"],
        tmp_path / "junit-again.xml",
    )
    assert again.failed() == {
        "test_fuzz_differential[mocs.search]",
        "test_fuzz_differential[images.list]",
    }, again.output[-3000:]
    replayed = _cells(reports)
    assert replayed["GET /api/mocs/search"]["evidence"]["query"] == query


@pytest.fixture(scope="module")
def title_drift_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("fuzz-title-drift")
    with SandboxProcess(tmp / "sandbox.env", drifts=["title-length"]) as sb:
        yield {**sb.env, "PARITY_BACKEND": "both", "PARITY_FUZZ_BUDGET": "60"}


def test_title_length_is_found_by_body_fuzzing_only(
    title_drift_env: dict[str, str], tmp_path: Path
) -> None:
    """``title-length`` (serverless accepts a MOC title over 200 characters and cuts it):
    no query and no catalog scenario shows it; the body fuzz of POST /api/mocs (fixed seed,
    default budget) does, shrunk to one changed field of 201 characters, with a curl line
    carrying that body, and what serverless created was deleted again."""
    reports = tmp_path / "reports"
    env = {**title_drift_env, "PARITY_REPORTS_DIR": str(reports)}
    run = run_checks(env, FUZZ, tmp_path / "junit.xml")
    assert run.returncode == 1, run.output[-3000:]
    assert run.failed() == {"test_fuzz_differential_body[mocs.create]"}, run.output[-3000:]
    cells = _cells(reports)
    cell = cells["POST /api/mocs"]
    assert cell["state"] == "drift", cell
    evidence = cell["evidence"]
    assert evidence["generated"] == "body"
    body = evidence["body"]
    base = {"description": "d", "theme": "Technic", "pieceCount": 1200, "tags": ["parity"]}
    # Minimal: the base body, only the title changed, to the shortest length that differs.
    assert {k: v for k, v in body.items() if k != "title"} == base, body
    assert len(body["title"]) == 201 and body["title"].startswith("parity "), body
    assert "status 400 -> 201" in cell["summary"], cell["summary"]
    curl = evidence["curl"]["serverless"]
    assert curl.startswith("curl ") and "-X POST" in curl and "/api/mocs" in curl
    assert body["title"] in curl and "Authorization: Bearer $PARITY_TOKEN_ALICE" in curl
    assert "teardown_errors" not in evidence
    others = {e: c["state"] for e, c in cells.items() if e != "POST /api/mocs"}
    assert len(others) >= 10 and set(others.values()) == {"pass"}, others
    assert (reports / "hypothesis" / "mocs.create.body").is_dir()

    # Nothing the fuzzing created is left: no MOC with a generated long title remains.
    answer = httpx.get(
        env["PARITY_EXPRESS_URL"] + "/api/mocs", params={"q": "x" * 30, "limit": 100}, timeout=10
    )
    assert answer.status_code == 200 and answer.json()["data"]["total"] == 0, answer.text[:500]
