"""Error cases (``pytest -m auth``, check ``errors``): unknown ids, unknown routes,
validation rules and the server-error path, as the catalog's ``checks.errors`` describes
the API's error conventions (the plan's risk I3: error response format differences).

- not found (``not_found_status``, or the endpoint's ``unknown_id_status``) for an unknown
  value of every route parameter on every endpoint that has one (its success scenario,
  each parameter set to its ``unknown_ids`` entry or ``unknown_ids.default``; OPTIONS only
  when ``unknown_id_status`` names it) and for each of ``unknown_routes``;
- each validation rule: every catalog scenario that expects ``validation_status``;
- the server-error path through the test-only ``fault`` header on every endpoint. A backend
  that ignores the header makes the case not-testable, never passed.

Each case is judged on every backend against what the catalog declares (the status; the
envelope's code and message where their places are declared) and against the reference:
the status, the content type, and the declared envelope parts, or, where the catalog
declares no envelope, the shape of the error body. The envelope's parts that
``checks.errors.envelope`` leaves out come from the top-level ``envelope:`` (its error
shape); a gateway's own answers, as ``envelope.gateway`` declares them, are said to be
gateway-originated (parity/checks/errors_check.py).

The tests keep the names of HTTP's usual statuses (404, 400, 500: CI scripts and docs
select them by name); the statuses they expect come from the catalog.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from parity.checks.errors_check import judge_errors
from parity.checks.sweeps import Target, every_endpoint, sweep_marks, varied
from parity.checks.verdicts import answer, conclude, record, request_summary
from parity.core.catalog import Case, Catalog
from parity.core.checkspec import Envelope, ErrorChecks
from parity.core.envelope import Gateway
from parity.core.results import CheckResult
from parity.engine.auth import ANONYMOUS
from parity.engine.baseline import Baseline
from parity.engine.diff import Answer
from parity.engine.guard import refuse_writes
from parity.engine.runner import Exchange, run_scenario
from parity.plugin import ParityRun, ResultSink, collection_catalog

pytestmark = [pytest.mark.auth, pytest.mark.parity_family("errors")]

CHECK = "errors"
REFERENCE = "express"


def _unknown_scenario(spec: ErrorChecks | None) -> str:
    return f"{spec.not_found_status if spec else 404}-unknown-id"


def _fault_scenario(spec: ErrorChecks | None) -> str:
    return f"{spec.fault.status}-fault" if spec and spec.fault else "fault"


def _validation_cases(catalog: Catalog, spec: ErrorChecks | None) -> list[Case]:
    wanted = set(spec.validation_status) if spec else set()
    return [
        c for c in catalog.cases() if len(c.scenario.expect) == 1 and c.scenario.expect[0] in wanted
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if not {"unknown_id_case", "route_case", "rule_case", "fault_case"} & set(names):
        return
    catalog = collection_catalog(metafunc.config)
    spec = catalog.checks.errors
    if "unknown_id_case" in names:
        targets = [t for t in every_endpoint(catalog) if t.endpoint.route_params] if spec else []
        scenario = _unknown_scenario(spec)
        metafunc.parametrize(
            "unknown_id_case",
            [
                pytest.param(t, id=t.id, marks=sweep_marks(catalog, t, CHECK, scenario))
                for t in targets
            ],
        )
    if "route_case" in names:
        routes = list(spec.unknown_routes) if spec else []
        metafunc.parametrize("route_case", routes, ids=routes)
    if "rule_case" in names:
        metafunc.parametrize(
            "rule_case",
            [
                pytest.param(
                    c,
                    id=c.id,
                    marks=[pytest.mark.writes] if catalog.writes(c.endpoint, c.scenario) else [],
                )
                for c in _validation_cases(catalog, spec)
            ],
        )
    if "fault_case" in names:
        targets = every_endpoint(catalog) if spec and spec.fault else []
        scenario = _fault_scenario(spec)
        metafunc.parametrize(
            "fault_case",
            [
                pytest.param(t, id=t.id, marks=sweep_marks(catalog, t, CHECK, scenario))
                for t in targets
            ],
        )


@pytest.fixture(scope="module")
def errors_spec(parity_run: ParityRun) -> ErrorChecks:
    spec = parity_run.catalog.checks.errors
    if spec is None:
        pytest.skip("the catalog has no checks.errors section")
    return spec


def _conventions(run: ParityRun, spec: ErrorChecks) -> Envelope:
    """The error envelope to judge by (this section's, completed by the top-level one)."""
    return spec.conventions(run.catalog.envelope)


def _gateway(run: ParityRun) -> Gateway | None:
    """The gateway answers the catalog declares (documented, so not drift by themselves)."""
    return run.catalog.envelope.gateway if run.catalog.envelope is not None else None


def _not_applicable(target: Target, scenario: str, why: str, results: ResultSink) -> NoReturn:
    """Nothing for this family to judge on this endpoint: a state of its own, with why."""
    why = f"errors: {why}"
    results.add(CheckResult(target.endpoint.key, CHECK, "not-applicable", why, scenario=scenario))
    pytest.skip(f"not-applicable: {why}")


def _no_scenario(target: Target, scenario: str, results: ResultSink) -> None:
    if target.scenario is None:  # the catalog tries this endpoint for errors only
        why = f"{target.id} has no success scenario to vary (give it one to sweep it)"
        _not_applicable(target, scenario, why, results)


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
    name = _unknown_scenario(errors_spec)
    _no_scenario(target, name, parity_results)
    assert target.scenario is not None
    expected = errors_spec.unknown_id_status.get(target.id, errors_spec.not_found_status)
    if target.endpoint.method == "OPTIONS" and target.id not in errors_spec.unknown_id_status:
        why = (
            "an OPTIONS answer is about the route, not the resource (declare "
            f"checks.errors.unknown_id_status.{target.id} to sweep it)"
        )
        _not_applicable(target, name, why, parity_results)
    values = {p: errors_spec.unknown_value(p) for p in target.endpoint.route_params}
    lacking = [p for p, v in values.items() if v is None]
    if lacking:  # nothing to send: the catalog gives no unknown value for these
        why = (
            f"no unknown value for route parameter {', '.join(lacking)}: declare "
            f"checks.errors.unknown_ids.{lacking[0]} (or unknown_ids.default)"
        )
        _not_applicable(target, name, why, parity_results)
    if parity_run.catalog.writes(target.endpoint, target.scenario):
        refuse_writes(parity_run.settings, f"the unknown-id check of {target.id} (its set-up)")
    scenario = varied(target.scenario, params={p: v for p, v in values.items() if v is not None})
    exchanges = _run(parity_run, target, scenario)
    records = judge_errors(
        {n: answer(e) for n, e in exchanges.items()},
        expected,
        _conventions(parity_run, errors_spec),
        parity_baseline,
        endpoint=target.endpoint.key,
        check=CHECK,
        scenario=name,
        requests={n: request_summary(e) for n, e in exchanges.items()},
        reference=REFERENCE,
        gateway_shape=_gateway(parity_run),
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
        errors_spec.not_found_status,
        _conventions(parity_run, errors_spec),
        parity_baseline,
        endpoint=route_case,
        check=CHECK,
        scenario=f"{errors_spec.not_found_status}-unknown-route",
        requests=requests,
        reference=REFERENCE,
        gateway_shape=_gateway(parity_run),
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
    status = case.scenario.expect[0]
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
        status,
        _conventions(parity_run, errors_spec),
        parity_baseline,
        endpoint=case.endpoint.key,
        check=CHECK,
        scenario=f"{status}-{case.scenario.name}",
        requests={n: request_summary(e) for n, e in exchanges.items()},
        reference=REFERENCE,
        gateway_shape=_gateway(parity_run),
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
    name = _fault_scenario(errors_spec)
    _no_scenario(target, name, parity_results)
    assert target.scenario is not None
    if parity_run.catalog.writes(target.endpoint, target.scenario):
        refuse_writes(parity_run.settings, f"the fault check of {target.id} (its set-up)")
    scenario = varied(target.scenario, headers={fault.header: fault.value})
    exchanges = _run(parity_run, target, scenario)
    judged: dict[str, Answer] = {}
    records: list[CheckResult] = []
    for backend, exchange in exchanges.items():
        if 200 <= exchange.status < 300:
            reason = (
                f"{backend} ignores {fault.header}: {fault.value} (answered {exchange.status}): "
                f"its {fault.status} path cannot be exercised"
            )
            records.append(
                record(
                    endpoint=target.endpoint.key,
                    check=CHECK,
                    diffs=[],
                    baseline=parity_baseline,
                    backend=backend,
                    scenario=name,
                    not_testable=reason,
                    evidence={
                        "request": request_summary(exchange),
                        "response": {"status": exchange.status},
                    },
                )
            )
        else:
            judged[backend] = answer(exchange)
    records += judge_errors(
        judged,
        fault.status,
        _conventions(parity_run, errors_spec),
        parity_baseline,
        endpoint=target.endpoint.key,
        check=CHECK,
        scenario=name,
        requests={n: request_summary(e) for n, e in exchanges.items()},
        reference=REFERENCE,
        gateway_shape=_gateway(parity_run),
    )
    parity_results.extend(records)
    conclude(records, f"{target.endpoint.key} with {fault.header}: {fault.value}")
