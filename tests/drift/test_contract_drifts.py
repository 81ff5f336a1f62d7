"""Contract drifts end to end: a sandbox whose serverless flavour diverges, the contract
checks run as QA runs them (``pytest contracts -m contract --backend=serverless``), and
exactly the scenarios touched by each drift fail, naming the field, while every other
scenario passes. Drifts that touch different resources share one sandbox to keep this
quick. The clean sandbox is the suite's own run of ``contracts/`` (it is in ``testpaths``:
every scenario on both backends of a clean embedded sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.core.catalog import load_catalog
from parity.engine.launcher import SandboxProcess
from tests.drift.checks import CheckRun, run_checks

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "fixtures" / "catalog.yaml")

MOC_SUCCESSES = {
    "mocs.list/default",
    "mocs.list/filtered-sorted",
    "mocs.list/newest",
    "mocs.list/by-pieces",
    "mocs.list/token-ignored",
    "mocs.search/default",
    "mocs.get/existing",
    "mocs.get/with-file",
    "mocs.create/created",
    "mocs.update/owner",
}
WISHLIST_SUCCESSES = {
    "wishlist.list/default",
    "wishlist.list/with-image-url",
    "wishlist.search/default",
    "wishlist.create/created",
    "wishlist.create/with-image-url",
    "wishlist.update/owner",
    "wishlist.reorder/permutation",
}
LOOSE_IMAGES = {  # answers holding an image outside any album (albumId null)
    "images.get/owner",
    "images.list/default",
    "images.search/matching",
    "images.update/owner",
    "images.upload/png",
}
NOT_FOUNDS = {c.id for c in CATALOG.cases() if 404 in c.scenario.expect}

# drift -> (the scenarios it must fail, what each failure must say)
COMBINED = {
    "field-rename": (MOC_SUCCESSES, ["pieceCount: missing", "'piece_count': renamed?"]),
    "date-format": (WISHLIST_SUCCESSES, ["createdAt: wrong type", "format date-time"]),
    "null-vs-absent": (LOOSE_IMAGES, ["albumId: missing"]),
    "error-shape": (NOT_FOUNDS, ["status: missing", "without its envelope"]),
}


def _contract_checks(env: dict[str, str], tmp: Path, *args: str) -> CheckRun:
    return run_checks(
        {**env, "PARITY_REPORTS_DIR": str(tmp / "reports")},
        ["contracts", "-m", "contract", "--backend=serverless", *args],
        tmp / "junit.xml",
    )


def _name(case_id: str) -> str:
    return f"test_contract[{case_id}-serverless]"


def test_four_drifts_in_one_sandbox_each_fail_their_own_checks(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path / "sandbox.env", drifts=list(COMBINED)) as sb:
        run = _contract_checks(sb.env, tmp_path)
    assert run.returncode == 1, run.output[-3000:]
    expected = {_name(c) for cases, _ in COMBINED.values() for c in cases}
    assert run.failed() == expected, {
        "unexpected": sorted(run.failed() - expected),
        "not caught": sorted(expected - run.failed()),
    }
    problems = []
    for drift, (cases, needles) in COMBINED.items():
        for case_id in sorted(cases):
            message = run.messages[_name(case_id)]
            problems += [f"{drift} {case_id}: no {n!r}" for n in needles if n not in message]
            if "origin: application" not in message:
                problems.append(f"{drift} {case_id}: not reported as an application drift")
    assert not problems, problems


def test_type_change_names_the_field_and_both_types(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path / "sandbox.env", drifts=["type-change"]) as sb:
        run = _contract_checks(sb.env, tmp_path, "-k", " or ".join(sorted(MOC_SUCCESSES)))
    assert run.returncode == 1, run.output[-3000:]
    assert run.failed() == {_name(c) for c in MOC_SUCCESSES}
    for case_id in MOC_SUCCESSES:
        message = run.messages[_name(case_id)]
        assert "pieceCount: wrong type" in message, message
        assert "expected: integer" in message and "(string)" in message


@pytest.mark.parametrize("drift", [*sorted(COMBINED), "type-change"])
def test_each_contract_drift_is_registered(drift: str) -> None:
    from sandbox.drift import DRIFTS

    assert DRIFTS.get(drift)
