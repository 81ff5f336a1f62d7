"""Every catalog scenario against each selected backend: the status the catalog expects,
and a body as the catalog's ``envelope:`` says (the API's success or error envelope, or an
answer its gateway gives instead); an API that declares no envelope is judged by the status
alone. Nothing about the API is assumed here: the envelope is data (parity.core.envelope).

Scenarios tagged with a marker name (``smoke``, ``auth``, ...) carry that marker, so
``pytest -m smoke --backend=serverless`` includes the catalog's smoke scenarios.

Each case is one record in the matrix (check ``catalog-scenario``): ``pass`` when the answer
is right; ``drift`` when it is wrong, with the evidence (the request, the expected statuses,
the answer's status, the headers that matter and the body, one difference per failed
condition), redacted, and the test fails; ``error`` only when the suite could not judge (a
set-up that failed, a backend that did not answer, a body that is not JSON where the catalog
says JSON: the runner raises, and :mod:`parity.plugin.collect` makes the cell), or when the
teardown failed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from parity.checks.verdicts import conclude, record, short
from parity.core.catalog import Case
from parity.core.envelope import Envelope, Judgement, judge
from parity.core.normalize import COMPARED_HEADERS
from parity.core.redact import redact, redact_text
from parity.core.results import CheckResult
from parity.engine.baseline import Baseline
from parity.engine.client import BackendClient
from parity.engine.diff import Difference
from parity.engine.runner import Exchange, run_scenario
from parity.plugin import MARKERS, ParityRun, ResultSink, collection_catalog

#: The matrix column of this check: the name the collector gives the test (``target_of``),
#: so a crashed case's ``error`` cell lands beside the others.
CHECK = "catalog-scenario"
_BODY_LIMIT = 20_000  # characters of pretty JSON kept in the evidence


pytestmark = pytest.mark.parity_family("catalog-scenarios")


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


def _body_or_text(exchange: Exchange) -> Any:
    return exchange.json if exchange.is_json else short(exchange.text or "", 200)


def _findings(
    exchange: Exchange, backend_name: str, envelope: Envelope | None
) -> tuple[list[Difference], Judgement]:
    """What is wrong with the answer, each a breaking difference: the expected status, and
    every condition of the catalog's envelope the body fails (a JSON body only: an answer
    the catalog declares as text or binary has no envelope)."""
    found: list[Difference] = []
    judgement = (
        judge(envelope, exchange.status, exchange.json, backend_name)
        if exchange.is_json
        else Judgement()
    )
    if not exchange.ok:
        statuses = sorted(exchange.expected)
        seen = short(_body_or_text(exchange), 200)
        note = f"expected {statuses}, got {exchange.status}: {seen}"
        found.append(
            Difference(
                "status", "status", statuses, exchange.status, "breaking", judgement.origin,
                note=note,
            )
        )  # fmt: skip
    for p in judgement.problems:
        found.append(
            Difference(
                p.path, p.kind, p.expected, p.actual, "breaking", judgement.origin, note=p.note
            )
        )
    return found, judgement


def _verdict(exchange: Exchange, envelope: Envelope | None, judgement: Judgement) -> str:
    """What a right answer was right about."""
    if envelope is None:
        return "status only: the catalog declares no envelope"
    if judgement.gateway:
        return "gateway-originated"
    if not exchange.is_json:
        return "not JSON, as the catalog declares"
    if envelope.shape_for(exchange.status) is None:
        return "status only: no envelope declared for this status"
    return "the application envelope"


def _answer(exchange: Exchange) -> dict[str, Any]:
    """The answer as the evidence keeps it: status, the headers that matter, the body."""
    out: dict[str, Any] = {
        "status": exchange.status,
        "headers": {k: v for k, v in sorted(exchange.headers.items()) if k in COMPARED_HEADERS},
        "elapsed_ms": exchange.elapsed_ms,
    }
    if not exchange.is_json:
        text = exchange.text or ""
        out["text"] = text[:_BODY_LIMIT] + ("..." if len(text) > _BODY_LIMIT else "")
        return out
    pretty = json.dumps(exchange.json, indent=2, ensure_ascii=False, default=str)
    if len(pretty) > _BODY_LIMIT:
        out["text"] = pretty[:_BODY_LIMIT] + f"... ({len(pretty)} characters)"
    else:
        out["json"] = exchange.json
    return out


def _request(exchange: Exchange) -> dict[str, Any]:
    url = exchange.url.split("://", 1)[-1]
    return {
        "method": exchange.method,
        "path": "/" + url.split("/", 1)[1] if "/" in url else "/",
        "role": exchange.role,
        "headers": exchange.request_headers,
        "body": exchange.request_body,
    }


@pytest.mark.parity_check(CHECK)
def test_catalog_scenario(
    backend: BackendClient,
    backend_name: str,
    parity_run: ParityRun,
    case: Case,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    exchange: Exchange = run_scenario(
        backend, parity_run.catalog, case.endpoint, case.scenario, parity_run.run_id
    )
    endpoint, scenario = case.endpoint.key, case.scenario.name
    envelope = parity_run.catalog.envelope
    found, judgement = _findings(exchange, backend_name, envelope)
    # redacted before anything keeps them: the values are the answer's own
    diffs = [
        Difference(
            d.path, d.kind, redact(d.expected), redact(d.actual), d.severity, d.origin,
            note=redact_text(d.note),
        )
        for d in found
    ]  # fmt: skip
    evidence: dict[str, Any] = {"request": _request(exchange)}
    evidence["expected"] = {"statuses": sorted(exchange.expected)}
    if diffs:  # the whole answer for a wrong one; the status says enough for a right one
        evidence["responses"] = {backend_name: _answer(exchange)}
    else:
        evidence["response"] = {"status": exchange.status}
    records = [
        record(
            endpoint=endpoint,
            check=CHECK,
            diffs=diffs,
            baseline=parity_baseline,
            backend=backend_name,
            scenario=scenario,
            status=exchange.status,
            ok=f"{exchange.status} as expected, {_verdict(exchange, envelope, judgement)}",
            evidence=redact(evidence),
            origin="gateway" if judgement.gateway else None,
        )
    ]
    if exchange.teardown_errors:  # the answer was judged; cleaning up after it failed
        errors = redact([str(e) for e in exchange.teardown_errors])
        records.append(
            CheckResult(
                endpoint, CHECK, "error", f"teardown failed: {short(errors, 300)}",
                backend=backend_name, scenario=scenario, evidence={"error": errors},
            )
        )  # fmt: skip
    parity_results.extend(records)
    conclude(records, f"{backend_name} {exchange.method} {redact_text(exchange.url)}")
