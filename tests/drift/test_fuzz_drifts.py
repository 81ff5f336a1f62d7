"""Drifts only generated inputs find (issue #9): one sandbox carries ``search-unicode``
(serverless 500s on an emoji search term) and ``limit-edge`` (serverless accepts limit=0
and 101 on GET /api/images). The differential fuzz checks (``pytest -m fuzz``, fixed seed,
30 examples an endpoint) find both within the budget, each as its endpoint's ``fuzz`` cell
with a minimal input and a reproducing curl line, leave the other fuzz cells green, and
store the findings in Hypothesis' example database, from which a one-example rerun replays
them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.launcher import SandboxProcess
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
    run = run_checks(env, FUZZ, tmp_path / "junit.xml")
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
        [*FUZZ, "-k", "mocs.search or images.list"],
        tmp_path / "junit-again.xml",
    )
    assert again.failed() == {
        "test_fuzz_differential[mocs.search]",
        "test_fuzz_differential[images.list]",
    }, again.output[-3000:]
    replayed = _cells(reports)
    assert replayed["GET /api/mocs/search"]["evidence"]["query"] == query
