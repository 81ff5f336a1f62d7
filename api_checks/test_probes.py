"""Probes (``pytest -m probe``): for every catalog endpoint, the requests nobody writes a
scenario for (a trailing slash, ``HEAD``, ``OPTIONS`` without ``Origin``, a method the route
lacks, a negative ``limit``, an unknown parameter, a field left out or of the wrong type at
any depth, malformed JSON, a token under another scheme, the same create sent twice),
derived from the endpoint's base scenario by :mod:`parity.checks.probes`, sent to Express and to
serverless in the same state, and judged like any differential case.

One test per endpoint; its records go to the matrix under ``probe:<kind>``, one record per
kind and pair of answers. Bounded by ``--probe-budget`` (probes per endpoint and seconds in
all), deterministic under ``--probe-seed``; against production, the probes that write (or
whose set-up writes) are refused unless ``--allow-writes``. docs/probes.md.
"""

from __future__ import annotations

import os
import time

import allure
import pytest

from parity.checks.families import NOT_APPLICABLE
from parity.checks.probe_model import AuthSpec, ProbeContext
from parity.checks.probe_values import CoverageSource, unusual_texts
from parity.checks.probes import (
    DEFAULT_BUDGET,
    ProbeBudget,
    ProbeClock,
    parse_budget,
    plan_probes,
    run_plan,
)
from parity.checks.sweeps import happy_path
from parity.checks.verdicts import conclude
from parity.core.catalog import Catalog, Endpoint
from parity.core.config import Settings
from parity.core.errors import ParityError, UsageError
from parity.core.results import CheckResult
from parity.engine.baseline import Baseline
from parity.engine.contracts import ContractStore
from parity.engine.openapi import build_openapi
from parity.engine.tokens import bad_token
from parity.plugin import ParityRun, ResultSink, collection_catalog
from parity.plugin.options import rooted

pytestmark = [pytest.mark.probe, pytest.mark.parity_family("probe")]

#: The reference and the candidate, as the differential checks name them.
PAIR = ("express", "serverless")
_CLOCK = pytest.StashKey[ProbeClock]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "probe_endpoint" not in metafunc.fixturenames:
        return
    catalog = collection_catalog(metafunc.config)
    params = [
        # the cell a test that crashed before emitting anything reports to
        pytest.param(e.id, id=e.id, marks=[pytest.mark.parity_check("probe", endpoint=e.key)])
        for e in catalog.endpoints
    ]
    metafunc.parametrize("probe_endpoint", params)


def _budget(config: pytest.Config) -> ProbeBudget:
    raw = config.getoption("probe_budget", None) or os.environ.get("PARITY_PROBE_BUDGET")
    where = "--probe-budget" if config.getoption("probe_budget", None) else "PARITY_PROBE_BUDGET"
    try:
        return parse_budget(raw, where) if raw else DEFAULT_BUDGET
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def _seed(config: pytest.Config) -> int:
    value = config.getoption("probe_seed", None)
    if value is not None:
        return int(value)
    raw = os.environ.get("PARITY_PROBE_SEED", "").strip()
    if raw and not raw.lstrip("-").isdigit():
        raise pytest.UsageError(f"PARITY_PROBE_SEED={raw!r} is not an integer")
    return int(raw) if raw else 0


@pytest.fixture(scope="session")
def probe_clock(pytestconfig: pytest.Config) -> ProbeClock:
    if _CLOCK not in pytestconfig.stash:
        pytestconfig.stash[_CLOCK] = ProbeClock(_budget(pytestconfig).seconds)
    return pytestconfig.stash[_CLOCK]


@pytest.fixture(scope="session")
def probe_coverage(parity_run: ParityRun, pytestconfig: pytest.Config) -> CoverageSource:
    """Schemathesis' coverage phase over the OpenAPI document of the run's catalog (what
    ``parity openapi`` writes); without contracts the document still has the requests."""
    try:
        store = ContractStore(rooted(pytestconfig, parity_run.settings.contracts))
        return CoverageSource(build_openapi(parity_run.catalog, store))
    except ParityError:
        return CoverageSource(None)


def _expired(
    run: ParityRun, catalog: Catalog, settings: Settings
) -> tuple[dict[str, dict[str, dict[str, str] | None]], dict[str, str]]:
    tokens: dict[str, dict[str, dict[str, str] | None]] = {}
    reasons: dict[str, str] = {}
    for role in (r for r in catalog.roles if r != "anonymous"):
        for backend in PAIR:
            bad = bad_token("expired", run.client(backend), settings, role)
            tokens.setdefault(role, {})[backend] = dict(bad.headers) if bad.headers else None
            if not bad.testable:
                reasons[role] = bad.reason
    return tokens, reasons


def _context(
    run: ParityRun,
    catalog: Catalog,
    coverage: CoverageSource,
    endpoint_id: str,
    seed: int,
    origin: str | None,
) -> ProbeContext:
    settings = run.settings
    auth = {b: AuthSpec(a.header, a.template, a.mode) for b in PAIR if (a := settings.auth_for(b))}
    expired, reasons = _expired(run, catalog, settings)
    return ProbeContext(
        backends=PAIR,
        auth=auth,
        expired=expired,
        expired_reasons=reasons,
        origin=origin,
        coverage=coverage.for_operation(endpoint_id),
        texts=unusual_texts(seed),
        writes_allowed=settings.writes_allowed,
        seed=seed,
    )


def _not_testable(sink: ResultSink, endpoint: str, why: str) -> None:
    sink.add(CheckResult(endpoint=endpoint, check="probe", state="not-testable", summary=why))
    pytest.skip(f"not-testable: {why}")


def _not_applicable(sink: ResultSink, endpoint: str, why: str) -> None:
    # the family does not apply to this endpoint: never a pass, never a failure
    sink.add(CheckResult(endpoint=endpoint, check="probe", state=NOT_APPLICABLE, summary=why))
    pytest.skip(f"{NOT_APPLICABLE}: {why}")


def _no_base_reason(endpoint: Endpoint) -> str:
    expected = sorted({s for sc in endpoint.scenarios for s in sc.expect})
    said = ", ".join(map(str, expected)) or "nothing"
    return (
        f"probe: no 2xx scenario as {endpoint.role} to derive probes from "
        f"(the catalog's scenarios expect {said})"
    )


def test_probes(
    parity_run: ParityRun,
    probe_endpoint: str,
    parity_results: ResultSink,
    parity_baseline: Baseline,
    parity_origin: str | None,
    probe_coverage: CoverageSource,
    probe_clock: ProbeClock,
    pytestconfig: pytest.Config,
) -> None:
    catalog = parity_run.catalog
    endpoint = catalog.get(probe_endpoint)
    allure.dynamic.parameter("probe_endpoint", endpoint.key)
    if not set(PAIR) <= set(parity_run.selected):
        _not_testable(
            parity_results,
            endpoint.key,
            "probes compare both backends live (--backend both); recordings hold no probe answers",
        )
    base = happy_path(endpoint)
    if base is None:
        _not_applicable(parity_results, endpoint.key, _no_base_reason(endpoint))
    seed = _seed(pytestconfig)
    ctx = _context(parity_run, catalog, probe_coverage, endpoint.id, seed, parity_origin)
    plan = plan_probes(catalog, endpoint, ctx, _budget(pytestconfig).per_endpoint)
    clients = (parity_run.client(PAIR[0]), parity_run.client(PAIR[1]))
    started = time.monotonic()
    try:
        records = run_plan(
            plan,
            catalog,
            clients,
            parity_run.run_id,
            parity_baseline,
            ctx,
            deadline=probe_clock.deadline(started),
        )
    finally:
        probe_clock.spent += time.monotonic() - started
    parity_results.extend(records)
    sent = [r for r in records if r.state != "skipped"]
    if not sent:  # every probe refused or over budget: never a pass
        held: dict[str, int] = {}
        for r in records:
            why = r.summary.split(": ", 1)[-1]
            held[why] = held.get(why, 0) + len(r.evidence.get("probes", []))
        pytest.skip(
            "; ".join(f"{n} probes not sent: {why}" for why, n in held.items())
            or "no probe to send"
        )
    conclude(records, endpoint.key)
