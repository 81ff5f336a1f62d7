"""Health and runtime config: the plan's risks T1 (URL misconfiguration: the health check on
app start) and T5 (config fetch), and its rollback-by-config promise.

- The health endpoint on every backend: success, the declared fields, every dependency
  healthy, and the same fields on both.
- The web host's runtime config (``/config.json``): valid against the schema the catalog
  names (``checks.health.web_config.schema``), served with ``Cache-Control: max-age=60`` (a
  rollback by config reaches users within a minute only then).
- ``/debug/*`` (the catalog's ``debug_routes``) answers 404 on every backend when the
  target is marked production (``PARITY_TARGET_ENV=production``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from parity.checks.sweeps import happy_path
from parity.checks.verdicts import conclude, record, short
from parity.core.checkspec import HealthChecks
from parity.core.jsonpath import JsonPathError, extract
from parity.core.results import CheckResult
from parity.engine.auth import ANONYMOUS
from parity.engine.baseline import Baseline
from parity.engine.diff import Difference
from parity.engine.runner import run_scenario
from parity.plugin import ParityRun, ResultSink, collection_catalog

_MISSING = object()


pytestmark = pytest.mark.parity_family("health")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "debug_route" in metafunc.fixturenames:
        spec = collection_catalog(metafunc.config).checks.health
        routes = list(spec.debug_routes) if spec is not None else []
        params = [
            pytest.param(r, id=r, marks=pytest.mark.parity_check("debug", endpoint=r))
            for r in routes
        ]
        metafunc.parametrize("debug_route", params)


@pytest.fixture(scope="module")
def health_spec(parity_run: ParityRun) -> HealthChecks:
    spec = parity_run.catalog.checks.health
    if spec is None:
        pytest.skip("the catalog has no checks.health section")
    return spec


def _get(doc: Any, path: str) -> Any:
    try:
        return extract(doc, path)
    except JsonPathError:
        return _MISSING


@pytest.mark.smoke
def test_health_endpoint(
    parity_run: ParityRun,
    health_spec: HealthChecks,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    endpoint = parity_run.catalog.get(health_spec.endpoint)
    scenario = happy_path(endpoint)
    assert scenario is not None, f"{endpoint.id} has no success scenario"
    bodies: dict[str, Any] = {}
    records: list[CheckResult] = []
    # the gateway answers the catalog declares (envelope.gateway); none: every answer is
    # the application's
    gateway = parity_run.catalog.envelope.gateway if parity_run.catalog.envelope else None
    for name in parity_run.selected:
        exchange = run_scenario(
            parity_run.client(name), parity_run.catalog, endpoint, scenario, parity_run.run_id
        )
        bodies[name] = exchange.json
        diffs: list[Difference] = []
        if not exchange.ok:
            diffs.append(
                Difference(
                    "status",
                    "status",
                    list(scenario.expect),
                    exchange.status,
                    "breaking",
                    "gateway"
                    if gateway is not None
                    and gateway.allows(name, exchange.status)
                    and gateway.matches(exchange.json)
                    else "application",
                    note=f"{name}: {endpoint.key} answered {exchange.status}: "
                    f"{short(exchange.json or exchange.text)}",
                )
            )
        else:
            for path in health_spec.fields:
                if _get(exchange.json, path) is _MISSING:
                    diffs.append(
                        Difference(
                            path,
                            "removed",
                            "present",
                            "(absent)",
                            "breaking",
                            "application",
                            note=f"{name}: no {path} in the health answer",
                        )
                    )
            for path, healthy in health_spec.dependencies.items():
                value = _get(exchange.json, path)
                if value is not _MISSING and value != healthy:
                    diffs.append(
                        Difference(
                            path,
                            "value",
                            healthy,
                            value,
                            "breaking",
                            "application",
                            note=f"{name}: {path} is {value!r}, not {healthy!r}",
                        )
                    )
        records.append(
            record(
                endpoint=endpoint.key,
                check="health",
                diffs=diffs,
                baseline=parity_baseline,
                backend=name,
                scenario=scenario.name,
                ok=f"{exchange.status}, "
                + ", ".join(f"{p}={_get(exchange.json, p)}" for p in health_spec.dependencies),
                evidence={"status": exchange.status, "body": exchange.json or exchange.text},
            )
        )
    parity_results.extend(records)
    conclude(records, f"{endpoint.key}")


def _cache_directives(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (value or "").split(","):
        key, _, val = part.strip().partition("=")
        if key:
            out[key.lower()] = val.strip().strip('"')
    return out


def test_runtime_config(
    parity_run: ParityRun,
    health_spec: HealthChecks,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    spec = health_spec.web_config
    if spec is None:
        pytest.skip("the catalog's health section declares no web_config")
    key = f"GET {spec.path}"
    web = parity_run.settings.web_url
    if not web:
        reason = "no web URL (--web-url / PARITY_WEB_URL): the runtime config cannot be fetched"
        parity_results.add(
            CheckResult(key, "config", "not-testable", reason, backend="web", scenario="config")
        )
        pytest.skip(reason)
    schema_path = Path(parity_run.catalog_path).parent / spec.schema_file
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = (
            f"cannot read the runtime config schema {schema_path} ({exc}): fix "
            "checks.health.web_config.schema in the catalog (relative to the catalog file)"
        )
        parity_results.add(
            CheckResult(key, "config", "error", reason, backend="web", scenario="config")
        )
        pytest.fail(reason, pytrace=False)
    url = web.rstrip("/") + spec.path
    response = httpx.get(url, timeout=parity_run.settings.timeout, follow_redirects=False)
    diffs: list[Difference] = []
    try:
        doc: Any = response.json()
    except ValueError:
        doc = None
    if response.status_code != 200 or doc is None:
        diffs.append(
            Difference(
                "status",
                "status",
                200,
                response.status_code,
                "breaking",
                "application",
                note=f"GET {url} answered {response.status_code} "
                f"({response.headers.get('content-type')}): {response.text[:120]}",
            )
        )
    else:
        validator = jsonschema.Draft202012Validator(schema)
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in error.absolute_path) or "$"
            diffs.append(
                Difference(
                    where,
                    "value",
                    f"valid against {spec.schema_file}",
                    error.instance,
                    "breaking",
                    "application",
                    note=f"{spec.path}: {where}: {error.message}",
                )
            )
    cache_control = response.headers.get("cache-control")
    if spec.cache_control is not None:
        want_key, _, want_value = spec.cache_control.partition("=")
        have = _cache_directives(cache_control)
        if have.get(want_key.lower().strip(), _MISSING) != want_value.strip():
            diffs.append(
                Difference(
                    "header cache-control",
                    "header-changed" if cache_control else "header-removed",
                    spec.cache_control,
                    cache_control or "(absent)",
                    "breaking",
                    "application",
                    note=f"{spec.path} is served with Cache-Control: {cache_control or '(none)'}, "
                    f"expected {spec.cache_control} (the plan's rollback by config relies on it)",
                )
            )
    rec = record(
        endpoint=key,
        check="config",
        diffs=diffs,
        baseline=parity_baseline,
        backend="web",
        scenario="config",
        ok=f"valid against {spec.schema_file}, Cache-Control: {cache_control}",
        evidence={
            "url": url,
            "status": response.status_code,
            "headers": dict(response.headers),
            "body": doc,
        },
    )
    parity_results.add(rec)
    conclude([rec], f"GET {url}")


def test_debug_routes_hidden_in_production(
    parity_run: ParityRun,
    debug_route: str,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    settings = parity_run.settings
    if settings.target_env != "production":
        reason = (
            f"the target is {settings.target_env}, not production: test-only hooks are allowed "
            "(PARITY_TARGET_ENV=production checks they are gone)"
        )
        parity_results.add(
            CheckResult(debug_route, "debug", "skipped", reason, scenario="production")
        )
        pytest.skip(reason)
    method, path = debug_route.split(" ", 1)
    records = []
    for name in parity_run.selected:
        response = parity_run.client(name).request(method, path, ANONYMOUS)
        diffs = []
        if response.status_code != 404:
            diffs.append(
                Difference(
                    "status",
                    "status",
                    404,
                    response.status_code,
                    "breaking",
                    "application",
                    note=f"{name}: {debug_route} answers {response.status_code} on a production "
                    f"target: {response.text[:120]}",
                )
            )
        records.append(
            record(
                endpoint=debug_route,
                check="debug",
                diffs=diffs,
                baseline=parity_baseline,
                backend=name,
                scenario="production",
                ok=f"{response.status_code}: absent in production",
            )
        )
    parity_results.extend(records)
    conclude(records, f"{debug_route} in production")
