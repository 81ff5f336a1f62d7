"""Contract checks (``pytest -m contract``): every catalog scenario's live answer, on each
selected backend, validated against its schema in ``contracts/schemas`` (inferred from
Express by ``parity capture && parity contracts``).

A failure is one block: endpoint, status, backend, schema file, then each JSON path with
what the contract expects and what came back. API Gateway's own answers on serverless
are reported as gateway-originated; like any difference they fail unless
``parity-baseline.toml`` accepts them (check ``contract``). A scenario whose status has no
schema fails with the command that records it: a contract nobody captured is not a pass.
"""

from __future__ import annotations

import pytest

from parity.core.catalog import Case, load_catalog
from parity.core.errors import ContractError, ParityError
from parity.engine.baseline import Baseline
from parity.engine.client import BackendClient
from parity.engine.contracts import ContractStore, check_response
from parity.engine.runner import run_scenario
from parity.plugin import MARKERS, ParityRun, ResultSink, get_state
from parity.plugin.options import rooted

pytestmark = [pytest.mark.contract, pytest.mark.parity_family("contract")]


def _writes(case: Case) -> bool:
    return not case.endpoint.read_only or bool(case.scenario.uses or case.scenario.steps)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "contract_case" not in metafunc.fixturenames:
        return
    try:
        catalog = load_catalog(get_state(metafunc.config).base_settings.catalog)
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None
    params = []
    for case in catalog.cases():
        tags = set(case.endpoint.tags) | set(case.scenario.tags)
        marks = [getattr(pytest.mark, t) for t in sorted(tags) if t in MARKERS and t != "contract"]
        if _writes(case):
            marks.append(pytest.mark.writes)
        params.append(pytest.param(case, id=case.id, marks=marks))
    metafunc.parametrize("contract_case", params)


@pytest.fixture(scope="session")
def contract_store(pytestconfig: pytest.Config) -> ContractStore:
    # --contracts-dir / PARITY_CONTRACTS_DIR / beside parity.toml / contracts/schemas
    store = ContractStore(rooted(pytestconfig, get_state(pytestconfig).base_settings.contracts))
    problem = None
    try:
        store.check_all()  # a corrupt schema is named (file, line) before any check runs
    except ContractError as exc:
        problem = str(exc)
    if problem is not None:  # outside the except: one message, no exception chain
        pytest.fail(problem, pytrace=False)
    return store


def test_contract(
    backend: BackendClient,
    backend_name: str,
    parity_run: ParityRun,
    contract_case: Case,
    contract_store: ContractStore,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    case = contract_case
    if _writes(case) and not parity_run.settings.writes_allowed:
        pytest.skip("writes refused against a production target (pass --allow-writes)")
    exchange = run_scenario(
        backend, parity_run.catalog, case.endpoint, case.scenario, parity_run.run_id
    )
    outcome = check_response(
        contract_store,
        method=exchange.method,
        route=exchange.route,
        status=exchange.status,
        body=exchange.json,
        is_json=exchange.is_json,
        text=exchange.text,
        backend=backend_name,
        scenario=case.scenario.name,
        expected=case.scenario.expect,
        url=exchange.url,
        content_type=exchange.headers.get("content-type"),
        # the gateway the catalog declares (none: no answer is a gateway's)
        gateway=parity_run.catalog.envelope.gateway if parity_run.catalog.envelope else None,
    )
    outcome.apply_baseline(parity_baseline)
    parity_results.add(outcome.to_result())
    if outcome.failed:
        pytest.fail(outcome.block(), pytrace=False)
