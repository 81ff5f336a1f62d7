"""CORS (``pytest -m cors``): the plan's risk I2, from the policy in ``checks.cors``.

For every catalog endpoint, the browser's two requests are sent to every backend:

- a preflight ``OPTIONS`` (the endpoint's method, the declared request headers) from each
  allowed origin (under a policy of any origin, the probe origins) and from the disallowed
  origin when one is declared;
- the actual request (the endpoint's success scenario, or its first scenario when the
  catalog tries it for errors only; sent with an ``Origin``) from the first allowed origin
  and from the disallowed one.

Above all the two backends' CORS answers are compared (status, ``Access-Control-*``,
``Vary``): a difference is drift even where both satisfy the policy, because the frontend
sees one backend or the other by rollout weight. Against the policy only what the catalog
declares is judged (parity/checks/cors.py). A finding on a backend behind the gateway the catalog
declares (``envelope.gateway.backends``) is ``gateway``-originated: API Gateway's CORS
configuration answers the preflight and replaces whatever headers the Lambda sets.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from parity.checks.cors import (
    CorsAnswer,
    check_actual,
    check_preflight,
    compare_cors,
    preflight_headers,
    preflight_not_applicable,
)
from parity.checks.sweeps import Target, every_endpoint, varied
from parity.checks.verdicts import conclude, record
from parity.core.catalog import ROUTE_PARAM
from parity.core.checkspec import CorsChecks
from parity.core.results import CheckResult, Origin
from parity.engine.auth import ANONYMOUS
from parity.engine.baseline import Baseline
from parity.engine.diff import Difference
from parity.engine.guard import refuse_writes
from parity.engine.runner import run_variants
from parity.plugin import ParityRun, ResultSink, collection_catalog

pytestmark = [pytest.mark.cors, pytest.mark.parity_family("cors")]

CHECK = "cors"
REFERENCE = "express"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, scenario, writes in (
        ("preflight_case", "preflight", False),
        ("actual_case", "actual", True),
    ):
        if name not in metafunc.fixturenames:
            continue
        catalog = collection_catalog(metafunc.config)
        targets = every_endpoint(catalog) if catalog.checks.cors is not None else []
        if writes:
            targets = [_with_any_scenario(t) for t in targets]
        params = []
        for t in targets:
            marks: list[Any] = [
                pytest.mark.parity_check(CHECK, endpoint=t.endpoint.key, scenario=scenario)
            ]
            if writes and (t.scenario is None or catalog.writes(t.endpoint, t.scenario)):
                marks.append(pytest.mark.writes)
            params.append(pytest.param(t, id=t.id, marks=marks))
        metafunc.parametrize(name, params)


def _with_any_scenario(target: Target) -> Target:
    """An endpoint the catalog tries for errors only still answers with CORS headers (a
    browser reads an error's body only with them): its first scenario is sent then."""
    if target.scenario is not None or not target.endpoint.scenarios:
        return target
    return Target(target.endpoint, target.endpoint.scenarios[0])


@pytest.fixture(scope="module")
def cors_spec(parity_run: ParityRun) -> CorsChecks:
    spec = parity_run.catalog.checks.cors
    if spec is None:
        pytest.skip("the catalog has no checks.cors section")
    return spec


def _origin_of(run: ParityRun, backend: str) -> Origin:
    """A backend behind the gateway the catalog declares (``envelope.gateway``, whose CORS
    configuration answers for it) has gateway-originated findings."""
    gateway = run.catalog.envelope.gateway if run.catalog.envelope is not None else None
    if gateway is None or (gateway.backends and backend not in gateway.backends):
        return "application"
    return "gateway"


def _origins(spec: CorsChecks, *, first_only: bool = False) -> list[tuple[str, bool]]:
    allowed = spec.origins[:1] if first_only else spec.origins
    refused = [spec.disallowed_origin] if spec.disallowed_origin else []
    return [(o, True) for o in allowed] + [(o, False) for o in refused]


def _compared(
    run: ParityRun,
    answers: dict[str, dict[str, CorsAnswer]],
    backend: str,
    where: dict[str, str],
    allowed: dict[str, bool],
) -> tuple[list[Difference], str]:
    """``backend``'s differences from the reference, and what the record says about it."""
    if backend == REFERENCE:
        return [], f"{REFERENCE} is the reference"
    if REFERENCE not in answers:
        return [], f"not compared ({REFERENCE} not selected)"
    diffs: list[Difference] = []
    for origin, got in answers[backend].items():
        diffs += compare_cors(
            REFERENCE,
            answers[REFERENCE][origin],
            backend,
            got,
            origin=origin,
            allowed=allowed[origin],
            where=where[origin],
            finding_origin=_origin_of(run, backend),
        )
    return diffs, f"the same CORS answers as {REFERENCE}"


def _policy_said(spec: CorsChecks, origins: list[tuple[str, bool]], preflight: bool) -> str:
    let_in = [o for o, allowed in origins if allowed]
    kept_out = [o for o, allowed in origins if not allowed]
    said = f"{', '.join(let_in)} let in" + (" (any origin)" if spec.any_origin else "")
    if kept_out:
        said += f", {', '.join(kept_out)} kept out"
    if preflight and (spec.methods or spec.headers):
        said += f" (allowing {', '.join([*spec.methods, *spec.headers])})"
    return said


def test_preflight(
    parity_run: ParityRun,
    cors_spec: CorsChecks,
    preflight_case: Target,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """The browser's preflight for this endpoint's request, from each origin."""
    endpoint = preflight_case.endpoint
    why = preflight_not_applicable(endpoint.method)
    if why is not None:
        parity_results.add(
            CheckResult(endpoint.key, CHECK, "not-applicable", f"cors: {why}", scenario="preflight")
        )
        pytest.skip(f"not-applicable: {why}")
    path = ROUTE_PARAM.sub(quote(cors_spec.param_value, safe=""), endpoint.route)
    origins = _origins(cors_spec)
    answers: dict[str, dict[str, CorsAnswer]] = {}
    policy: dict[str, list[Difference]] = {}
    wheres: dict[str, dict[str, str]] = {}
    for name in parity_run.selected:
        client = parity_run.client(name)
        answers[name], policy[name], wheres[name] = {}, [], {}
        for origin, allowed in origins:
            headers = preflight_headers(origin, endpoint.method, cors_spec.headers)
            response = client.request("OPTIONS", path, ANONYMOUS, headers=headers)
            answers[name][origin] = CorsAnswer.of(response.status_code, response.headers)
            where = wheres[name][origin] = f"{name}: OPTIONS {path} from {origin}"
            policy[name] += check_preflight(
                response.status_code,
                response.headers,
                origin=origin,
                allowed=allowed,
                method=endpoint.method,
                policy=cors_spec,
                where=where,
                finding_origin=_origin_of(parity_run, name),
            )
    records: list[CheckResult] = []
    for name in parity_run.selected:
        compared, how = _compared(parity_run, answers, name, wheres[name], dict(origins))
        records.append(
            record(
                endpoint=endpoint.key,
                check=CHECK,
                diffs=policy[name] + compared,
                baseline=parity_baseline,
                backend=name,
                scenario="preflight",
                ok=f"preflight: {_policy_said(cors_spec, origins, True)}; {how}",
                evidence={
                    "path": path,
                    "preflights": {o: a.to_dict() for o, a in answers[name].items()},
                },
            )
        )
    parity_results.extend(records)
    conclude(records, f"preflight of {endpoint.key}")


def test_actual_request_cors(
    parity_run: ParityRun,
    cors_spec: CorsChecks,
    actual_case: Target,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """The endpoint's real request, sent with an allowed and with the disallowed origin."""
    target = actual_case
    if target.scenario is None:
        summary = f"{target.id} has no scenario to send"
        parity_results.add(
            CheckResult(target.endpoint.key, CHECK, "error", summary, scenario="actual")
        )
        pytest.fail(summary, pytrace=False)
    if parity_run.catalog.writes(target.endpoint, target.scenario):
        refuse_writes(parity_run.settings, f"the CORS check of {target.id}'s request")
    pairs = _origins(cors_spec, first_only=True)
    variants = [varied(target.scenario, headers={"Origin": o}) for o, _ in pairs]
    answers: dict[str, dict[str, CorsAnswer]] = {}
    policy: dict[str, list[Difference]] = {}
    wheres: dict[str, dict[str, str]] = {}
    for name in parity_run.selected:
        exchanges = run_variants(
            parity_run.client(name),
            parity_run.catalog,
            target.endpoint,
            target.scenario,
            variants,
            parity_run.run_id,
        )
        answers[name], policy[name], wheres[name] = {}, [], {}
        for (origin, allowed), exchange in zip(pairs, exchanges, strict=True):
            request = f"{exchange.method} {target.endpoint.route}"
            where = wheres[name][origin] = f"{name}: {request} from {origin} ({exchange.status})"
            answers[name][origin] = CorsAnswer.of(exchange.status, exchange.headers)
            policy[name] += check_actual(
                exchange.headers,
                origin=origin,
                allowed=allowed,
                where=where,
                finding_origin=_origin_of(parity_run, name),
                policy=cors_spec,
            )
    records: list[CheckResult] = []
    for name in parity_run.selected:
        compared, how = _compared(parity_run, answers, name, wheres[name], dict(pairs))
        records.append(
            record(
                endpoint=target.endpoint.key,
                check=CHECK,
                diffs=policy[name] + compared,
                baseline=parity_baseline,
                backend=name,
                scenario="actual",
                ok=f"the answer: {_policy_said(cors_spec, pairs, False)}; {how}",
                evidence={"answers": {o: a.to_dict() for o, a in answers[name].items()}},
            )
        )
    parity_results.extend(records)
    conclude(records, f"CORS headers of {target.endpoint.key}")
