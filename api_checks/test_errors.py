"""Error cases (``pytest -m auth``, check ``errors``): moc-api.md's 404, 400 and 500, the
plan's risk I3 (error response format differences).

- 404 for an unknown id on every endpoint with a route parameter (its success scenario,
  every parameter set to the catalog's ``checks.errors.unknown_id``) and for each of the
  catalog's ``unknown_routes``.
- 400 for each validation rule: every catalog scenario that expects 400, with the error
  code and ``error.details`` compared between the backends.
- 500 through the test-only fault header (``X-Debug-Fault: 500``) on every endpoint. A
  backend that ignores the header makes the case not-testable, never passed.

Each case is judged on every backend and against Express: the status, the error shape
(the envelope's code, or API Gateway's own ``{"message": ...}``, said to be
gateway-originated), the code, the details and the message.
"""

from __future__ import annotations

from typing import Any

import pytest

from parity.auth import ANONYMOUS
from parity.baseline import Baseline
from parity.catalog import Case
from parity.checkspec import ErrorChecks
from parity.diff import Answer
from parity.guard import refuse_writes
from parity.plugin import ParityRun, ResultSink, collection_catalog
from parity.results import CheckResult
from parity.runner import Exchange, run_scenario
from parity.sweeps import Target, every_endpoint, sweep_marks, varied, with_params
from parity.verdicts import answer, conclude, judge_errors, record, request_summary

pytestmark = [pytest.mark.auth, pytest.mark.parity_family("errors")]

CHECK = "errors"
REFERENCE = "express"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if not {"unknown_id_case", "route_case", "rule_case", "fault_case"} & set(names):
        return
    catalog = collection_catalog(metafunc.config)
    spec = catalog.checks.errors
    if "unknown_id_case" in names:
        targets = [t for t in every_endpoint(catalog) if t.endpoint.route_params] if spec else []
        metafunc.parametrize(
            "unknown_id_case",
            [
                pytest.param(t, id=t.id, marks=sweep_marks(catalog, t, CHECK, "404-unknown-id"))
                for t in targets
            ],
        )
    if "route_case" in names:
        routes = list(spec.unknown_routes) if spec else []
        metafunc.parametrize("route_case", routes, ids=routes)
    if "rule_case" in names:
        status = spec.validation_status if spec else 400
        cases = [c for c in catalog.cases() if spec and tuple(c.scenario.expect) == (status,)]
        metafunc.parametrize(
            "rule_case",
            [
                pytest.param(
                    c,
                    id=c.id,
                    marks=[pytest.mark.writes] if catalog.writes(c.endpoint, c.scenario) else [],
                )
                for c in cases
            ],
        )
    if "fault_case" in names:
        targets = every_endpoint(catalog) if spec and spec.fault else []
        metafunc.parametrize(
            "fault_case",
            [
                pytest.param(t, id=t.id, marks=sweep_marks(catalog, t, CHECK, "500-fault"))
                for t in targets
            ],
        )


@pytest.fixture(scope="module")
def errors_spec(parity_run: ParityRun) -> ErrorChecks:
    spec = parity_run.catalog.checks.errors
    if spec is None:
        pytest.skip("the catalog has no checks.errors section")
    return spec


def _no_scenario(target: Target, scenario: str, results: ResultSink) -> None:
    if target.scenario is None:
        summary = f"{target.id} has no success scenario to vary"
        results.add(CheckResult(target.endpoint.key, CHECK, "error", summary, scenario=scenario))
        pytest.fail(summary, pytrace=False)


def _run(run: ParityRun, target: Target, scenario: Any) -> dict[str, Exchange]:
    return {
        name: run_scenario(run.client(name), run.catalog, target.endpoint, scenario, run.run_id)
        for name in run.selected
    }


def test_unknown_id_is_404(
    parity_run: ParityRun,
    errors_spec: ErrorChecks,
    unknown_id_case: Target,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    target = unknown_id_case
    _no_scenario(target, "404-unknown-id", parity_results)
    assert target.scenario is not None
    if parity_run.catalog.writes(target.endpoint, target.scenario):
        refuse_writes(parity_run.settings, f"the unknown-id check of {target.id} (its set-up)")
    scenario = with_params(target.endpoint, target.scenario, errors_spec.unknown_id)
    exchanges = _run(parity_run, target, scenario)
    records = judge_errors(
        {n: answer(e) for n, e in exchanges.items()},
        404,
        errors_spec.envelope,
        parity_baseline,
        endpoint=target.endpoint.key,
        check=CHECK,
        scenario="404-unknown-id",
        requests={n: request_summary(e) for n, e in exchanges.items()},
        reference=REFERENCE,
    )
    parity_results.extend(records)
    conclude(records, f"{target.endpoint.key} with an unknown id")


def test_unknown_route_is_404(
    parity_run: ParityRun,
    errors_spec: ErrorChecks,
    route_case: str,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    method, path = route_case.split(" ", 1)
    answers: dict[str, Answer] = {}
    for name in parity_run.selected:
        answers[name] = answer(parity_run.client(name).request(method, path, ANONYMOUS))
    requests = {n: {"method": method, "path": path, "role": ANONYMOUS} for n in answers}
    records = judge_errors(
        answers,
        404,
        errors_spec.envelope,
        parity_baseline,
        endpoint=route_case,
        check=CHECK,
        scenario="404-unknown-route",
        requests=requests,
        reference=REFERENCE,
    )
    parity_results.extend(records)
    conclude(records, f"unknown route {route_case}")


def test_validation_rule_is_400(
    parity_run: ParityRun,
    errors_spec: ErrorChecks,
    rule_case: Case,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    case = rule_case
    if parity_run.catalog.writes(case.endpoint, case.scenario):
        refuse_writes(parity_run.settings, f"the validation check {case.id} (its set-up)")
    exchanges = {
        name: run_scenario(
            parity_run.client(name),
            parity_run.catalog,
            case.endpoint,
            case.scenario,
            parity_run.run_id,
        )
        for name in parity_run.selected
    }
    records = judge_errors(
        {n: answer(e) for n, e in exchanges.items()},
        errors_spec.validation_status,
        errors_spec.envelope,
        parity_baseline,
        endpoint=case.endpoint.key,
        check=CHECK,
        scenario=f"400-{case.scenario.name}",
        requests={n: request_summary(e) for n, e in exchanges.items()},
        reference=REFERENCE,
    )
    parity_results.extend(records)
    conclude(records, f"{case.endpoint.key} [{case.scenario.name}]")


def test_fault_header_gives_500(
    parity_run: ParityRun,
    errors_spec: ErrorChecks,
    fault_case: Target,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    target = fault_case
    fault = errors_spec.fault
    assert fault is not None
    _no_scenario(target, "500-fault", parity_results)
    assert target.scenario is not None
    if parity_run.catalog.writes(target.endpoint, target.scenario):
        refuse_writes(parity_run.settings, f"the fault check of {target.id} (its set-up)")
    scenario = varied(target.scenario, headers={fault.header: fault.value})
    exchanges = _run(parity_run, target, scenario)
    judged: dict[str, Answer] = {}
    records: list[CheckResult] = []
    for name, exchange in exchanges.items():
        if 200 <= exchange.status < 300:
            reason = (
                f"{name} ignores {fault.header}: {fault.value} (answered {exchange.status}): "
                f"its {fault.status} path cannot be exercised"
            )
            records.append(
                record(
                    endpoint=target.endpoint.key,
                    check=CHECK,
                    diffs=[],
                    baseline=parity_baseline,
                    backend=name,
                    scenario="500-fault",
                    not_testable=reason,
                    evidence={
                        "request": request_summary(exchange),
                        "response": {"status": exchange.status},
                    },
                )
            )
        else:
            judged[name] = answer(exchange)
    records += judge_errors(
        judged,
        fault.status,
        errors_spec.envelope,
        parity_baseline,
        endpoint=target.endpoint.key,
        check=CHECK,
        scenario="500-fault",
        requests={n: request_summary(e) for n, e in exchanges.items()},
        reference=REFERENCE,
    )
    parity_results.extend(records)
    conclude(records, f"{target.endpoint.key} with {fault.header}: {fault.value}")
