"""Every catalog scenario against each selected backend: the status the catalog expects,
and a body in one of the two shapes the frontend must cope with (the application envelope,
or an API Gateway-originated ``{"message": ...}``).

Scenarios tagged with a marker name (``smoke``, ``auth``, ...) carry that marker, so
``pytest -m smoke --backend=serverless`` includes the catalog's smoke scenarios.

Each case is one record in the matrix (check ``catalog-scenario``): ``pass`` when the answer
is right; ``drift`` when it is wrong, with the evidence (the request, the expected statuses,
the answer's status, the headers that matter and the body), redacted, and the test fails;
``error`` only when the suite could not judge (a set-up that failed, a backend that did not
answer, a body that is not JSON: the runner raises, and :mod:`parity.collect` makes the
cell), or when the teardown failed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from parity.baseline import Baseline
from parity.catalog import Case
from parity.client import BackendClient
from parity.diff import Difference
from parity.normalize import COMPARED_HEADERS
from parity.plugin import MARKERS, ParityRun, ResultSink, collection_catalog
from parity.redact import redact, redact_text
from parity.results import CheckResult, Origin
from parity.runner import Exchange, run_scenario
from parity.verdicts import conclude, record, short

GATEWAY_STATUSES = {401, 403, 404, 413, 500, 503, 504}
#: The matrix column of this check: the name the collector gives the test (``target_of``),
#: so a crashed case's ``error`` cell lands beside the others.
CHECK = "catalog-scenario"
_BODY_LIMIT = 20_000  # characters of pretty JSON kept in the evidence
_ABSENT = "(absent)"


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


def _shape(body: Any) -> str:
    if isinstance(body, dict) and body.get("status") in ("success", "error"):
        return "envelope"
    if isinstance(body, dict) and set(body) == {"message"}:
        return "gateway"
    return "unknown"


def _body_or_text(exchange: Exchange) -> Any:
    return exchange.json if exchange.is_json else short(exchange.text or "", 200)


def _findings(exchange: Exchange, backend_name: str) -> list[Difference]:
    """What is wrong with the answer: the same conditions the check always asserted (the
    expected status; the gateway's shape only from serverless, with a gateway status; else
    the envelope with a string message, ``error``/``data: null``/an error code on an error
    status, ``success`` and ``data`` otherwise), each a breaking difference."""
    found: list[Difference] = []
    body, status = exchange.json, exchange.status
    shape = _shape(body)

    def add(path: str, kind: Any, want: Any, got: Any, note: str, origin: Origin) -> None:
        found.append(Difference(path, kind, want, got, "breaking", origin, note=note))

    seen = _body_or_text(exchange)
    if not exchange.ok:
        statuses = sorted(exchange.expected)
        origin: Origin = "gateway" if shape == "gateway" else "application"
        note = f"expected {statuses}, got {status}: {short(seen, 200)}"
        add("status", "status", statuses, status, note, origin)
    if shape == "gateway":
        if not (backend_name == "serverless" and status in GATEWAY_STATUSES):
            note = f"a gateway-shaped body {short(body, 120)} from {backend_name} with {status}"
            add("$", "body", "the application envelope", body, note, "gateway")
        return found
    if shape != "envelope":
        note = f"body is neither envelope nor gateway: {short(seen, 200)}"
        add("$", "body", "the envelope or a gateway body", seen, note, "application")
        return found

    def wrong(path: str, kind: Any, want: Any, got: Any, note: str) -> None:
        add(path, kind, want, got, note, "application")

    message = body.get("message", _ABSENT)
    if not isinstance(message, str):
        wrong("message", "type", "a string", message, f"message is {short(message, 60)}")
    data = body.get("data", _ABSENT)
    want = "error" if status >= 400 else "success"
    if body["status"] != want:
        wrong("status", "value", want, body["status"], f"status {body['status']!r} on a {status}")
    if status >= 400:
        if data is not None:
            wrong("data", "value", None, data, f"data is {short(data, 60)} on an error, not null")
        error = body.get("error", _ABSENT)
        if not (isinstance(error, dict) and error.get("code")):
            wrong("error.code", "removed", "an error code", error, f"no code: {short(error, 80)}")
    elif data == _ABSENT:
        wrong("data", "removed", "data", _ABSENT, "no data on a success")
    return found


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
    # redacted before anything keeps them: the values are the answer's own
    diffs = [
        Difference(
            d.path, d.kind, redact(d.expected), redact(d.actual), d.severity, d.origin,
            note=redact_text(d.note),
        )
        for d in _findings(exchange, backend_name)
    ]  # fmt: skip
    gateway = _shape(exchange.json) == "gateway"
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
            ok=f"{exchange.status} as expected, "
            + ("gateway-originated" if gateway else "the application envelope"),
            evidence=redact(evidence),
            origin="gateway" if gateway else None,
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
