"""Differential fuzzing (``pytest -m fuzz``): generated query parameters (pagination edges,
unicode and very long search strings, unknown parameters, wrong types) and JSON bodies
(boundary values, very long / unicode strings, wrong types, null, missing and unknown
fields) sent to Express and to serverless, the answers compared by the catalog scenarios'
engine.

One query test per fuzzable catalog endpoint (read-only, no route parameter, with query
parameters) and one body test per write endpoint with a JSON body (marked ``writes``: what
a generated body creates is deleted again by the base scenario's ``creates:``/``uses:``,
and the checks are refused against production unless ``--allow-writes``).

A difference is shrunk to a minimal query or body, saved in Hypothesis' example database
under ``<reports>/hypothesis`` (replayed first next time) and reported to the matrix as the
endpoint's ``fuzz`` cell with a reproducing curl line per backend.
Deterministic (fixed seed); bounded by ``--fuzz-budget`` (whole session, default 60 s)
and ``--fuzz-examples`` (per endpoint, default 30 queries / 20 bodies).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import allure
import pytest

from parity.checks.fuzz import FUZZ_CHECK, FuzzKind, fuzz_case, fuzz_targets
from parity.checks.fuzzbody import body_strategy, body_targets
from parity.core.catalog import Case, load_catalog
from parity.core.errors import ParityError
from parity.engine.baseline import Baseline
from parity.engine.differential import LiveSource, not_testable_records
from parity.plugin import ParityRun, ResultSink, get_state

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.parity_check(FUZZ_CHECK),
    pytest.mark.parity_family("fuzz"),
]

DEFAULT_EXAMPLES = 30
#: Bodies per write endpoint: fewer, each one sets up and tears down state on both backends.
DEFAULT_BODY_EXAMPLES = 20


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    name = next((n for n in ("fuzz_case_", "fuzz_body_case") if n in metafunc.fixturenames), None)
    if name is None:
        return
    state = get_state(metafunc.config)
    try:
        catalog = load_catalog(state.base_settings.catalog)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None
    cases = fuzz_targets(catalog) if name == "fuzz_case_" else body_targets(catalog)
    metafunc.parametrize(name, cases, ids=[c.endpoint.id for c in cases])


def _option(config: pytest.Config, name: str, env: str, default: float) -> float:
    value = config.getoption(name, None)
    if value is None:
        raw = os.environ.get(env)
        value = float(raw) if raw else default
    return float(value)


def _fuzz(
    kind: FuzzKind,
    case: Case,
    parity_run: ParityRun,
    parity_results: ResultSink,
    parity_baseline: Baseline,
    fuzz_deadline: float,
    pytestconfig: pytest.Config,
) -> None:
    allure.dynamic.parameter("case", case.endpoint.key)
    if "express" not in parity_run.selected or "serverless" not in parity_run.selected:
        reason = "differential fuzzing needs both backends live (--backend=both)"
        parity_results.extend(not_testable_records(case, reason, (FUZZ_CHECK,)))
        pytest.skip(reason)
    if time.monotonic() > fuzz_deadline:
        reason = "the fuzz budget (--fuzz-budget) was spent before this endpoint"
        parity_results.extend(not_testable_records(case, reason, (FUZZ_CHECK,), state="skipped"))
        pytest.skip(reason)
    default = DEFAULT_EXAMPLES if kind == "query" else DEFAULT_BODY_EXAMPLES
    examples = int(_option(pytestconfig, "fuzz_examples", "PARITY_FUZZ_EXAMPLES", default))
    run = parity_run
    outcome = fuzz_case(
        case,
        LiveSource(run.client("express"), run.catalog, run.run_id),
        LiveSource(run.client("serverless"), run.catalog, run.run_id),
        kind=kind,
        strategy=body_strategy(case, run.catalog) if kind == "body" else None,
        max_examples=examples,
        deadline=fuzz_deadline,
        database=Path(run.settings.reports_dir) / "hypothesis",
        baseline=parity_baseline,
    )
    parity_results.add(outcome.record)
    if outcome.failed:
        pytest.fail(
            f"{case.endpoint.key} fuzz ({kind}): {outcome.record.state}: {outcome.record.summary}",
            False,
        )


def test_fuzz_differential(
    parity_run: ParityRun,
    fuzz_case_: Case,
    parity_results: ResultSink,
    parity_baseline: Baseline,
    fuzz_deadline: float,
    pytestconfig: pytest.Config,
) -> None:
    _fuzz(
        "query",
        fuzz_case_,
        parity_run,
        parity_results,
        parity_baseline,
        fuzz_deadline,
        pytestconfig,
    )


@pytest.mark.writes
def test_fuzz_differential_body(
    parity_run: ParityRun,
    fuzz_body_case: Case,
    parity_results: ResultSink,
    parity_baseline: Baseline,
    fuzz_deadline: float,
    pytestconfig: pytest.Config,
) -> None:
    _fuzz(
        "body",
        fuzz_body_case,
        parity_run,
        parity_results,
        parity_baseline,
        fuzz_deadline,
        pytestconfig,
    )
