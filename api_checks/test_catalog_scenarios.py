"""Every catalog scenario against each selected backend: the status the catalog expects,
and a body in one of the two shapes the frontend must cope with (the application envelope,
or an API Gateway-originated ``{"message": ...}``).

Scenarios tagged with a marker name (``smoke``, ``auth``, ...) carry that marker, so
``pytest -m smoke --backend=serverless`` includes the catalog's smoke scenarios.
"""

from __future__ import annotations

from typing import Any

import pytest

from parity.catalog import Case
from parity.client import BackendClient
from parity.plugin import MARKERS, ParityRun, collection_catalog
from parity.runner import Exchange, run_scenario

GATEWAY_STATUSES = {401, 403, 404, 413, 500, 503, 504}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" not in metafunc.fixturenames:
        return
    catalog = collection_catalog(metafunc.config)
    params = []
    for case in catalog.cases():
        tags = set(case.endpoint.tags) | set(case.scenario.tags)
        marks = [getattr(pytest.mark, t) for t in sorted(tags) if t in MARKERS]
        if catalog.writes(case.endpoint, case.scenario):
            marks.append(pytest.mark.writes)
        params.append(pytest.param(case, id=case.id, marks=marks))
    metafunc.parametrize("case", params)


def _shape(body: Any) -> str:
    if isinstance(body, dict) and body.get("status") in ("success", "error"):
        return "envelope"
    if isinstance(body, dict) and set(body) == {"message"}:
        return "gateway"
    return "unknown"


def test_catalog_scenario(
    backend: BackendClient, backend_name: str, parity_run: ParityRun, case: Case
) -> None:
    exchange: Exchange = run_scenario(
        backend, parity_run.catalog, case.endpoint, case.scenario, parity_run.run_id
    )
    where = f"{backend_name} {exchange.method} {exchange.url}"
    assert exchange.ok, (
        f"{where}: expected {sorted(exchange.expected)}, got {exchange.status}: "
        f"{(exchange.text or str(exchange.json))[:400]}"
    )
    assert not exchange.teardown_errors, f"{where}: teardown failed: {exchange.teardown_errors}"
    shape = _shape(exchange.json)
    if shape == "gateway":
        assert backend_name == "serverless" and exchange.status in GATEWAY_STATUSES, (
            f"{where}: a gateway-shaped body {exchange.json} from {backend_name}"
        )
        return
    assert shape == "envelope", f"{where}: body is neither envelope nor gateway: {exchange.json}"
    body = exchange.json
    assert isinstance(body["message"], str)
    if exchange.status >= 400:
        assert body["status"] == "error" and body["data"] is None
        assert isinstance(body.get("error"), dict) and body["error"].get("code"), body
    else:
        assert body["status"] == "success" and "data" in body
