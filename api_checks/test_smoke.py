"""Smoke checks: the critical user flows of the catalog (``flows:``), run after every
rollout stage.

``pytest -m smoke --backend=serverless`` runs each flow against one backend; the default
runs it against both. A flow is requests in order (:mod:`parity.checks.flows`): each must answer
the status it expects and pass its checks, and the flow stops at the first that does not.
What a flow creates is deleted again, also when a step fails. A flow that writes (a step
that is not a read, or a resource it uses) carries the ``writes`` marker, so the production
guard refuses it there unless writes are allowed.

Each flow and backend is one record in the matrix, row ``FLOW /<flow>`` (as the browser
flows' rows), check ``smoke-flow``: ``pass``; ``drift`` with the evidence (every step, the
request and the answer of the step that answered wrong, what was wrong), and the test
fails; ``error`` when the suite could not judge (set-up, an unreachable backend, an answer
of the wrong kind) or the teardown failed. A catalog without flows gives a
``not-applicable`` cell with the reason (the ``smoke-flows`` family).
"""

from __future__ import annotations

import pytest

from parity.checks.flows import FLOW_CHECK, flow_row, run_flow
from parity.core.catalog_model import Flow
from parity.engine.client import BackendClient
from parity.plugin import MARKERS, ParityRun, ResultSink, collection_catalog

pytestmark = [pytest.mark.smoke, pytest.mark.parity_family("smoke-flows")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "flow" not in metafunc.fixturenames:
        return
    catalog = collection_catalog(metafunc.config)
    params = []
    for flow in catalog.flows:
        marks = [getattr(pytest.mark, t) for t in sorted(set(flow.tags)) if t in MARKERS]
        if catalog.flow_writes(flow):
            marks.append(pytest.mark.writes)
        # the cell is known at collection: a flow skipped or failing in set-up still has one
        marks.append(
            pytest.mark.parity_check(FLOW_CHECK, endpoint=flow_row(flow), scenario=flow.name)
        )
        params.append(pytest.param(flow, id=flow.name, marks=marks))
    if not params:  # the family is then not applicable: one cell says why
        marks = [pytest.mark.parity_check(FLOW_CHECK, endpoint="FAMILY /smoke-flows")]
        params.append(pytest.param(None, id="no-flows", marks=marks))
    metafunc.parametrize("flow", params)


def test_smoke_flow(
    parity_run: ParityRun,
    parity_results: ResultSink,
    backend: BackendClient,
    flow: Flow,
) -> None:
    outcome = run_flow(backend, parity_run.catalog, flow, parity_run.run_id)
    record = parity_results.add(outcome.record(flow_row(flow)))
    assert record.state == "pass", f"flow {flow.name} on {backend.name}: {record.summary}"
