"""The catalog-scenario check reads the envelope from the catalog, end to end: the sandbox's
``error-shape`` drift (serverless 404s answer ``{"message": "Album not found"}``, no envelope)
is a drift cell naming each missing part under the shipped catalog, and passes on the same
answers when the catalog declares no envelope (the status alone is judged)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.launcher import SandboxProcess
from parity.engine.matrix import load_matrix
from tests.drift.checks import ROOT, run_checks

CASE = ["api_checks/test_catalog_scenarios.py", "-k", "albums.get and unknown-id"]
ENDPOINT = "GET /api/albums/{albumId}"


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("envelope")
    with SandboxProcess(tmp / "sandbox.env", drifts=["error-shape"]) as sb:
        yield sb.env


def _without_envelope(tmp: Path) -> Path:
    """The shipped catalog with its top-level envelope section cut out."""
    lines = (ROOT / "fixtures" / "catalog.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("envelope:")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace())
    path = tmp / "catalog.yaml"
    path.write_text("\n".join(lines[:start] + lines[end:]) + "\n", encoding="utf-8")
    for schema in (ROOT / "fixtures").glob("*.schema.json"):  # referenced relative to it
        shutil.copy(schema, tmp / schema.name)
    return path


def _records(env: dict[str, str], tmp: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    reports = tmp / "reports"
    run = run_checks(
        {**env, "PARITY_BACKEND": "both", "PARITY_REPORTS_DIR": str(reports)},
        CASE,
        tmp / "junit.xml",
    )
    matrix = load_matrix(reports / "parity-matrix.json")
    (cell,) = [
        c for c in matrix["cells"] if c["endpoint"] == ENDPOINT and c["check"] == "catalog-scenario"
    ]
    records = {
        r["backend"]: {**r, "evidence": r["evidence"] or cell["evidence"]} for r in cell["records"]
    }
    return run.returncode, records


def test_the_shipped_envelope_catches_an_answer_without_it(
    drifted: dict[str, str], tmp_path: Path
) -> None:
    code, records = _records(drifted, tmp_path)
    assert code == 1
    assert records["express"]["state"] == "pass"
    wrong = records["serverless"]
    assert wrong["state"] == "drift" and wrong["origin"] == "application", wrong
    differences = wrong["evidence"]["differences"]
    assert {(d["path"], d["kind"]) for d in differences} == {
        ("status", "removed"),
        ("data", "removed"),
        ("error.code", "removed"),
    }
    assert all(d["note"].startswith("no ") for d in differences)
    assert wrong["evidence"]["responses"]["serverless"]["json"] == {"message": "Album not found"}


def test_without_an_envelope_the_status_alone_is_judged(
    drifted: dict[str, str], tmp_path: Path
) -> None:
    catalog = _without_envelope(tmp_path)
    code, records = _records({**drifted, "PARITY_CATALOG": str(catalog)}, tmp_path)
    assert code == 0
    for backend in ("express", "serverless"):
        record = records[backend]
        assert record["state"] == "pass", record
        assert "status only: the catalog declares no envelope" in record["summary"]
