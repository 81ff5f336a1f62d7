"""The smoke flows and the consistency checks in the matrix, run as a user runs them against
a sandbox whose serverless flavour carries ``type-change`` (MOCs carry pieceCount as a
string):

- the catalog's flows: one ``FLOW /<flow>`` x ``smoke-flow`` record per flow and backend;
  the MOC lifecycle is ``drift`` on serverless with the step, the request, the answer and
  the difference as evidence, ``pass`` on Express, and what it created is gone again;
- a consistency section without ``change``, ``search`` and ``list``: read-after-write still
  judges (and says the change step was not declared), the search-lag and cache cells are
  ``not-applicable`` with the reason, never a pass;
- a catalog with neither flows nor the section: every cell of both families is
  ``not-applicable`` and the run does not fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from parity.engine.launcher import SandboxProcess
from tests.drift.checks import ROOT, run_checks

FILES = ["api_checks/test_smoke.py", "api_checks/test_consistency.py"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env_file = tmp_path_factory.mktemp("cells") / "sandbox.env"
    with SandboxProcess(env_file, drifts=["type-change"]) as sb:
        yield {**sb.env, "PARITY_BACKEND": "both"}


def _catalog(tmp: Path, change: Any) -> Path:
    doc = yaml.safe_load((ROOT / "fixtures" / "catalog.yaml").read_text(encoding="utf-8"))
    change(doc)
    path = tmp / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


Cells = dict[tuple[str, str], Any]


def _run(env: dict[str, str], tmp: Path, catalog: Path) -> tuple[int, str, Cells]:
    reports = tmp / "reports"
    run = run_checks(
        {**env, "PARITY_REPORTS_DIR": str(reports), "PARITY_CATALOG": str(catalog)},
        FILES,
        tmp / "junit.xml",
    )
    matrix = json.loads((reports / "parity-matrix.json").read_text(encoding="utf-8"))
    cells = {(c["endpoint"], c["check"]): c for c in matrix["cells"]}
    return run.returncode, run.output, cells


def test_flows_judge_each_backend_and_undeclared_steps_are_not_applicable(
    sandbox: dict[str, str], tmp_path: Path
) -> None:
    def trim(doc: dict[str, Any]) -> None:
        for key in ("change", "search", "list"):
            del doc["checks"]["consistency"][key]

    code, output, cells = _run(sandbox, tmp_path, _catalog(tmp_path, trim))
    assert code == 1, output[-3000:]
    # the flows: one record per backend; the lifecycle caught the type change on serverless
    lifecycle = cells[("FLOW /moc-lifecycle", "smoke-flow")]
    states = {r["backend"]: r["state"] for r in lifecycle["records"]}
    assert states == {"express": "pass", "serverless": "drift"}, lifecycle["records"]
    ev = lifecycle["evidence"]
    assert lifecycle["summary"].startswith('step 1 (create a MOC): data.pieceCount is "1234"')
    assert ev["step"] == {"number": 1, "name": "create a MOC"}
    assert ev["request"]["method"] == "POST" and ev["request"]["role"] == "alice"
    assert ev["responses"]["serverless"]["json"]["data"]["pieceCount"] == "1234"
    assert [(d["path"], d["kind"]) for d in ev["differences"]] == [("data.pieceCount", "type")]
    assert "[redacted" in ev["request"]["headers"]["authorization"]
    others = [c for (row, check), c in cells.items() if check == "smoke-flow"]
    assert {c["endpoint"] for c in others} == {
        "FLOW /moc-lifecycle", "FLOW /browse-mocs-paged", "FLOW /browse-gallery",
        "FLOW /profile", "FLOW /health",
    }  # fmt: skip
    assert all(c["state"] == "pass" for c in others if c is not lifecycle)
    # consistency: read-after-write judged, the undeclared steps not-applicable with why
    read = cells[("GET /api/mocs/{mocId}", "consistency")]
    assert read["state"] == "pass" and "change: not declared" in read["summary"]
    for check, key in (("search-lag", "search"), ("cache", "list")):
        cell = cells[("FAMILY /consistency", check)]
        assert cell["state"] == "not-applicable", cell
        assert f"checks.consistency.{key}" in cell["summary"]
    assert ("GET /api/mocs/search", "search-lag") not in cells


def test_a_catalog_without_flows_or_consistency_is_not_applicable(
    sandbox: dict[str, str], tmp_path: Path
) -> None:
    def strip(doc: dict[str, Any]) -> None:
        del doc["flows"], doc["checks"]["consistency"]

    code, output, cells = _run(sandbox, tmp_path, _catalog(tmp_path, strip))
    assert code == 0, output[-3000:]
    assert set(cells) == {
        ("FAMILY /smoke-flows", "smoke-flow"),
        ("FAMILY /consistency", "consistency"),
        ("FAMILY /consistency", "search-lag"),
        ("FAMILY /consistency", "cache"),
    }
    assert {c["state"] for c in cells.values()} == {"not-applicable"}
    assert "declares no flows" in cells[("FAMILY /smoke-flows", "smoke-flow")]["summary"]
    assert "no checks.consistency section" in cells[("FAMILY /consistency", "cache")]["summary"]
