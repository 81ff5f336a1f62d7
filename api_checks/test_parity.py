"""Differential checks: every catalog scenario sent to Express and to serverless, status,
headers (content type, cache-control, CORS) and envelope compared (``pytest -m parity``).

Reads go to Express twice, around serverless, so that what differs between two Express
answers is learned as noise (listed in the matrix, not compared). Writes create the same
resource through each backend and compare the answers' shapes; the catalog deletes both.
Accepted drifts come from ``parity-baseline.toml``. Each test reports one record per check
(``status``, ``headers``, ``envelope``) to the parity matrix.
"""

from __future__ import annotations

import allure
import pytest

from parity.core.catalog import Case
from parity.engine.baseline import Baseline
from parity.engine.differential import LiveSource, Source, not_testable_records, run_case
from parity.engine.replay import CassetteSource
from parity.plugin import ParityRun, ResultSink, collection_catalog

pytestmark = [pytest.mark.parity, pytest.mark.parity_family("differential")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "parity_case" not in metafunc.fixturenames:
        return
    catalog = collection_catalog(metafunc.config)
    params = []
    for case in catalog.cases():
        marks = [pytest.mark.writes] if catalog.writes(case.endpoint, case.scenario) else []
        params.append(pytest.param(case, id=case.id, marks=marks))
    metafunc.parametrize("parity_case", params)


def _sources(run: ParityRun, cassettes: CassetteSource) -> tuple[Source | None, Source | None, str]:
    """The reference (Express, or its cassettes when it is gone) and the candidate
    (serverless), or why there is none."""
    selected = run.selected
    if "serverless" not in selected:
        return None, None, "no candidate: --backend=express compares nothing"
    candidate = LiveSource(run.client("serverless"), run.catalog, run.run_id)
    if "express" in selected:
        return LiveSource(run.client("express"), run.catalog, run.run_id), candidate, ""
    if not cassettes.recordings:
        return (
            None,
            candidate,
            (
                "Express is not selected and no cassette stands in for it: record one with "
                "`parity capture` (or pass --cassettes DIR)"
            ),
        )
    return cassettes, candidate, ""


def test_parity(
    parity_run: ParityRun,
    parity_case: Case,
    parity_results: ResultSink,
    parity_baseline: Baseline,
    parity_origin: str | None,
    parity_cassettes: CassetteSource,
) -> None:
    case = parity_case
    allure.dynamic.parameter("parity_case", case.id)  # not the whole model's repr
    writes = not case.endpoint.read_only or bool(case.scenario.uses or case.scenario.steps)
    if writes and not parity_run.settings.writes_allowed:
        reason = "writes refused against a production target (pass --allow-writes)"
        parity_results.extend(not_testable_records(case, reason, state="skipped"))
        pytest.skip(reason)
    reference, candidate, why = _sources(parity_run, parity_cassettes)
    if reference is None or candidate is None:
        parity_results.extend(not_testable_records(case, why))
        pytest.skip(why)
    outcome = run_case(case, reference, candidate, baseline=parity_baseline, origin=parity_origin)
    parity_results.extend(outcome.records)
    if all(r.state == "not-testable" for r in outcome.records):
        pytest.skip(outcome.records[0].summary)
    failed = outcome.failed
    if failed:
        lines = [f"{r.check}: {r.state} ({r.origin or '-'}): {r.summary}" for r in failed]
        pytest.fail(f"{case.endpoint.key} [{case.scenario.name}]\n" + "\n".join(lines), False)
