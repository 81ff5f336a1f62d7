"""CORS (``pytest -m cors``): moc-api.md "CORS", the plan's risk I2.

For every catalog endpoint, on every backend:

- a preflight ``OPTIONS`` from each allowed origin of ``checks.cors`` must succeed, echo
  the origin, allow the endpoint's method and the declared methods and headers
  (``Authorization``, ``Content-Type``; case-insensitive) and carry ``Access-Control-Max-Age``;
  from the disallowed origin it must carry no ``Access-Control-Allow-Origin``;
- the actual request (the endpoint's success scenario, sent with an ``Origin``) must carry
  ``Access-Control-Allow-Origin`` for an allowed origin and none for the disallowed one.

A finding on the serverless side is ``gateway``-originated: API Gateway's CORS configuration
answers the preflight and replaces whatever headers the Lambda sets.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from parity.auth import ANONYMOUS
from parity.baseline import Baseline
from parity.catalog import ROUTE_PARAM
from parity.checkspec import CorsChecks
from parity.cors import check_actual, check_preflight, preflight_headers
from parity.diff import Difference
from parity.guard import refuse_writes
from parity.plugin import ParityRun, ResultSink, collection_catalog
from parity.results import CheckResult, Origin
from parity.runner import run_variants
from parity.sweeps import Target, every_endpoint, varied
from parity.verdicts import GATEWAY_BACKENDS, conclude, record

pytestmark = [pytest.mark.cors, pytest.mark.parity_family("cors")]

CHECK = "cors"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, scenario, writes in (
        ("preflight_case", "preflight", False),
        ("actual_case", "actual", True),
    ):
        if name not in metafunc.fixturenames:
            continue
        catalog = collection_catalog(metafunc.config)
        targets = every_endpoint(catalog) if catalog.checks.cors is not None else []
        params = []
        for t in targets:
            marks: list[Any] = [
                pytest.mark.parity_check(CHECK, endpoint=t.endpoint.key, scenario=scenario)
            ]
            if writes and (t.scenario is None or catalog.writes(t.endpoint, t.scenario)):
                marks.append(pytest.mark.writes)
            params.append(pytest.param(t, id=t.id, marks=marks))
        metafunc.parametrize(name, params)


@pytest.fixture(scope="module")
def cors_spec(parity_run: ParityRun) -> CorsChecks:
    spec = parity_run.catalog.checks.cors
    if spec is None:
        pytest.skip("the catalog has no checks.cors section")
    return spec


def _origin_of(backend: str) -> Origin:
    return "gateway" if backend in GATEWAY_BACKENDS else "application"


def _origins(spec: CorsChecks) -> list[tuple[str, bool]]:
    return [(o, True) for o in spec.allowed_origins] + [(spec.disallowed_origin, False)]


def test_preflight(
    parity_run: ParityRun,
    cors_spec: CorsChecks,
    preflight_case: Target,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """The browser's preflight for this endpoint's request, from each origin."""
    endpoint = preflight_case.endpoint
    path = ROUTE_PARAM.sub(quote(cors_spec.param_value, safe=""), endpoint.route)
    records: list[CheckResult] = []
    for name in parity_run.selected:
        client = parity_run.client(name)
        diffs: list[Difference] = []
        seen: dict[str, Any] = {}
        for origin, allowed in _origins(cors_spec):
            headers = preflight_headers(origin, endpoint.method, cors_spec.headers)
            response = client.request("OPTIONS", path, ANONYMOUS, headers=headers)
            got = {
                k.lower(): v
                for k, v in response.headers.items()
                if k.lower().startswith("access-control-")
            }
            seen[origin] = {"status": response.status_code, "headers": got}
            where = f"{name}: OPTIONS {path} from {origin}"
            diffs += check_preflight(
                response.status_code,
                response.headers,
                origin=origin,
                allowed=allowed,
                method=endpoint.method,
                policy=cors_spec,
                where=where,
                finding_origin=_origin_of(name),
            )
        records.append(
            record(
                endpoint=endpoint.key,
                check=CHECK,
                diffs=diffs,
                baseline=parity_baseline,
                backend=name,
                scenario="preflight",
                ok=f"preflight allowed from {', '.join(cors_spec.allowed_origins)} "
                f"(methods and {', '.join(cors_spec.headers)} allowed), "
                f"refused from {cors_spec.disallowed_origin}",
                evidence={"path": path, "preflights": seen},
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
        summary = f"{target.id} has no success scenario to send"
        parity_results.add(
            CheckResult(target.endpoint.key, CHECK, "error", summary, scenario="actual")
        )
        pytest.fail(summary, pytrace=False)
    if parity_run.catalog.writes(target.endpoint, target.scenario):
        refuse_writes(parity_run.settings, f"the CORS check of {target.id}'s request")
    pairs = [(cors_spec.allowed_origins[0], True), (cors_spec.disallowed_origin, False)]
    variants = [varied(target.scenario, headers={"Origin": o}) for o, _ in pairs]
    records: list[CheckResult] = []
    for name in parity_run.selected:
        exchanges = run_variants(
            parity_run.client(name),
            parity_run.catalog,
            target.endpoint,
            target.scenario,
            variants,
            parity_run.run_id,
        )
        diffs: list[Difference] = []
        seen = {}
        for (origin, allowed), exchange in zip(pairs, exchanges, strict=True):
            request = f"{exchange.method} {target.endpoint.route}"
            where = f"{name}: {request} from {origin} ({exchange.status})"
            seen[origin] = {
                "status": exchange.status,
                "headers": {
                    k: v
                    for k, v in exchange.headers.items()
                    if k.startswith("access-control-") or k == "vary"
                },
            }
            diffs += check_actual(
                exchange.headers,
                origin=origin,
                allowed=allowed,
                where=where,
                finding_origin=_origin_of(name),
            )
        records.append(
            record(
                endpoint=target.endpoint.key,
                check=CHECK,
                diffs=diffs,
                baseline=parity_baseline,
                backend=name,
                scenario="actual",
                ok=f"the answer allows {pairs[0][0]} and not {pairs[1][0]}",
                evidence={"answers": seen},
            )
        )
    parity_results.extend(records)
    conclude(records, f"CORS headers of {target.endpoint.key}")
