"""Schemathesis (4.x) over the OpenAPI document ``parity/openapi.py`` builds from the catalog
and the contracts (``pytest -m fuzz``): one test per read-only operation and selected
backend, requests generated from the document and sent with alice's real token, each answer
checked by not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance and ignored_auth.

A failing check is one ``fuzz`` record (state ``drift``) for the operation and backend, with
the check's message and a reproducing curl line (alice's token as ``$PARITY_TOKEN_ALICE``,
never the secret), and fails the test. Deterministic (derandomized, no example database),
bounded by ``--fuzz-budget`` (the session-wide deadline shared with the differential fuzz
checks) and ``SCHEMATHESIS_EXAMPLES`` examples per operation.

Per-operation tests cover the GET operations only (generated POST/PATCH/DELETE requests
would create or destroy data nothing tracks). Writes are exercised by the stateful phase
(``test_fuzz_schemathesis_stateful``, marked ``writes``): create a MOC, then follow the
document's links (read, patch, delete), every MOC it created deleted afterwards.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import allure
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from parity.client import BackendClient
from parity.contracts import DEFAULT_CONTRACTS_DIR, ContractStore
from parity.fuzz import FUZZ_CHECK
from parity.openapi import build_openapi
from parity.plugin import ParityRun, ResultSink, collection_catalog
from parity.results import CheckResult
from parity.templating import render

pytestmark = [pytest.mark.fuzz, pytest.mark.parity_check(FUZZ_CHECK)]

#: Generated requests per operation (small: the suite runs this for both backends).
SCHEMATHESIS_EXAMPLES = 10
ROLE = "alice"
TOKEN_VAR = f"$PARITY_TOKEN_{ROLE.upper()}"
CHECKS = {
    "not_a_server_error": not_a_server_error,
    "status_code_conformance": status_code_conformance,
    "content_type_conformance": content_type_conformance,
    "response_schema_conformance": response_schema_conformance,
    "ignored_auth": ignored_auth,
}
#: Checks left out for one operation, each with the reason recorded as ``not-testable``.
#: (operation id -> {check name: reason}).
#: (Empty today: images.search's 200 contract learned ``albumId`` only as null until the
#: catalog's ``images.search/in-album`` scenario recorded an album image.)
EXCLUDED: dict[str, dict[str, str]] = {}
#: A 400 to a generated input of an operation whose document lists no 400: input validation
#: the catalog never exercised (by design, on both backends). status_code_conformance is
#: not applied to such answers and the operation's cell says so (not-testable, with a curl);
#: the other checks still run on them.
UNDOCUMENTED_REJECTION = 400


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "st_operation" not in metafunc.fixturenames:
        return
    catalog = collection_catalog(metafunc.config)
    ops = [e.id for e in catalog.endpoints if e.method == "GET"]
    metafunc.parametrize("st_operation", ops, ids=ops)


@pytest.fixture(scope="session")
def st_document(parity_run: ParityRun, pytestconfig: pytest.Config) -> dict[str, Any]:
    """The OpenAPI document of the run's catalog and contracts (what ``parity openapi`` writes)."""
    contracts = DEFAULT_CONTRACTS_DIR
    if not contracts.exists():
        contracts = pytestconfig.rootpath / contracts
    return build_openapi(parity_run.catalog, ContractStore(contracts))


@pytest.fixture(scope="session")
def st_schema(st_document: dict[str, Any]) -> schemathesis.BaseSchema:
    """The document loaded by Schemathesis: positive generation only (the requests carry
    alice's real token; ignored_auth sends its own unauthenticated probes)."""
    schema = schemathesis.openapi.from_dict(st_document)
    schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE])
    return schema


@dataclass
class _Finding:
    check: str
    title: str
    message: str
    curl: str
    status: int
    body: str


@dataclass
class _Run:
    sent: int = 0
    out_of_budget: bool = False
    rejections: list[str] = field(default_factory=list)  # curl lines of undocumented 400s
    findings: list[_Finding] = field(default_factory=list)


def _curl(case: schemathesis.Case, url: str, headers: dict[str, str], token: str) -> str:
    """The request as a curl line; the auth header carries ``$PARITY_TOKEN_ALICE`` (double
    quoted so the shell expands it), never the secret nor Schemathesis' ``[Filtered]``."""
    line = case.as_curl_command(base_url=url)
    for name, value in headers.items():
        line = re.sub(rf" -H '{re.escape(name)}: [^']*'", "", line, flags=re.IGNORECASE)
        shown = value.replace(token, TOKEN_VAR) if token else value
        line += f' -H "{name}: {shown}"'
    return line.replace(token, TOKEN_VAR) if token else line


def _hide(text: str, token: str) -> str:
    return text.replace(token, TOKEN_VAR) if token else text


def _failures(exc: BaseException) -> list[Failure]:
    if isinstance(exc, FailureGroup):
        return list(exc.exceptions)
    return [exc] if isinstance(exc, Failure) else []


def test_fuzz_schemathesis(
    parity_run: ParityRun,
    backend: BackendClient,
    backend_name: str,
    st_schema: schemathesis.BaseSchema,
    st_document: dict[str, Any],
    st_operation: str,
    parity_results: ResultSink,
    pytestconfig: pytest.Config,
    fuzz_deadline: float,
) -> None:
    endpoint = next(e for e in parity_run.catalog.endpoints if e.id == st_operation)
    allure.dynamic.parameter("st_operation", endpoint.key)
    deadline = fuzz_deadline

    def record(state: Any, summary: str, **evidence: Any) -> None:
        parity_results.add(
            CheckResult(
                endpoint=endpoint.key,
                check=FUZZ_CHECK,
                state=state,
                summary=summary,
                backend=backend_name,
                evidence={"tool": "schemathesis", **evidence},
            )
        )

    if time.monotonic() > deadline:
        reason = "the fuzz budget (--fuzz-budget) was spent before this operation"
        record("skipped", reason)
        pytest.skip(reason)
    url = parity_run.settings.url_for(backend_name)
    assert url is not None
    headers = dict(backend.auth.headers(ROLE))
    token = backend.auth.token(ROLE) if headers else ""
    excluded = EXCLUDED.get(st_operation, {})
    for check, reason in excluded.items():
        record("not-testable", f"schemathesis {check} not run: {reason}", schemathesis_check=check)
    checks = [fn for name, fn in CHECKS.items() if name not in excluded]
    documented = st_document["paths"][endpoint.route][endpoint.method.lower()]["responses"]
    rejection_undocumented = str(UNDOCUMENTED_REJECTION) not in documented
    operation = st_schema.find_operation_by_id(st_operation)  # type: ignore[attr-defined]
    run = _Run()

    @settings(
        max_examples=SCHEMATHESIS_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is kept
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def generated(case: schemathesis.Case) -> None:
        if run.findings:
            return
        if time.monotonic() > deadline:
            run.out_of_budget = True
            return
        response = case.call(base_url=url, headers=headers, timeout=parity_run.settings.timeout)
        run.sent += 1
        applied = checks
        if rejection_undocumented and response.status_code == UNDOCUMENTED_REJECTION:
            run.rejections.append(_curl(case, url, headers, token))
            applied = [fn for fn in checks if fn is not status_code_conformance]
        try:
            case.validate_response(response, checks=applied, headers=headers)
        except (Failure, FailureGroup) as exc:
            for failure in _failures(exc):
                run.findings.append(
                    _Finding(
                        check=",".join(type(failure).checks) or type(failure).__name__,
                        title=failure.title,
                        message=failure.message,
                        curl=_curl(case, url, headers, token),
                        status=response.status_code,
                        body=_hide(response.text[:2000], token),
                    )
                )

    generated()
    if run.rejections:
        record(
            "not-testable",
            f"schemathesis status_code_conformance not applied to {len(run.rejections)} "
            f"HTTP {UNDOCUMENTED_REJECTION} answer(s): the catalog never exercises invalid input "
            f"for this operation, so the document lists no {UNDOCUMENTED_REJECTION} "
            f"(e.g. {run.rejections[0]})",
            schemathesis_check="status_code_conformance",
            curl=run.rejections[0],
        )
    if run.findings:
        first = run.findings[0]
        summary = f"{first.title} (HTTP {first.status}); reproduce: {first.curl}"
        record(
            "drift",
            summary,
            curl=first.curl,
            findings=[f.__dict__ for f in run.findings],
            examples=run.sent,
        )
        pytest.fail(f"{endpoint.key} [{backend_name}] schemathesis: {summary}\n{first.message}")
    if run.sent == 0:
        reason = "the fuzz budget (--fuzz-budget) was spent before any request was sent"
        record("skipped", reason)
        pytest.skip(reason)
    suffix = " (budget spent before the last examples)" if run.out_of_budget else ""
    record(
        "pass",
        f"{run.sent} generated request(s), checks {', '.join(sorted(CHECKS))} passed{suffix}",
        examples=run.sent,
    )


# --- stateful phase: create a MOC, then follow the document's links (read, patch, delete) ---

#: The resource the stateful phase creates (catalog ``resources``) and the operations it uses.
STATEFUL_RESOURCE = "moc"
STATEFUL_OPERATIONS = ("mocs.create", "mocs.get", "mocs.update", "mocs.delete")
#: Scenarios (each a few linked calls) and calls per scenario: small, the suite runs it twice.
STATEFUL_SCENARIOS = 4
STATEFUL_STEPS = 4


@pytest.mark.writes
def test_fuzz_schemathesis_stateful(
    parity_run: ParityRun,
    backend: BackendClient,
    backend_name: str,
    st_schema: schemathesis.BaseSchema,
    st_document: dict[str, Any],
    parity_results: ResultSink,
    pytestconfig: pytest.Config,
    fuzz_deadline: float,
) -> None:
    """Schemathesis' stateful phase over the create -> read/patch/delete links of a MOC, with
    alice's token and the same checks; every MOC it creates is deleted afterwards."""
    resource = parity_run.catalog.resources[STATEFUL_RESOURCE]
    create_key = f"{resource.create.method} {resource.create.path}"
    deadline = fuzz_deadline

    def record(state: Any, summary: str, **evidence: Any) -> None:
        parity_results.add(
            CheckResult(
                endpoint=create_key,
                check=FUZZ_CHECK,
                state=state,
                summary=f"stateful: {summary}",
                backend=backend_name,
                evidence={"tool": "schemathesis", "phase": "stateful", **evidence},
            )
        )

    if time.monotonic() > deadline:
        reason = "the fuzz budget (--fuzz-budget) was spent before the stateful phase"
        record("skipped", reason)
        pytest.skip(reason)
    maybe_url = parity_run.settings.url_for(backend_name)
    assert maybe_url is not None
    url: str = maybe_url
    headers = dict(backend.auth.headers(ROLE))
    token = backend.auth.token(ROLE) if headers else ""
    ((var, save_path),) = resource.save.items()
    delete_path = resource.delete.path if resource.delete is not None else None
    created: set[str] = set()
    steps: list[str] = []
    findings: list[_Finding] = []
    rejections: list[str] = []
    responses_of = {
        op["operationId"]: op["responses"]
        for item in st_document["paths"].values()
        for op in item.values()
    }
    seed_body = render(resource.create.json_body, {"run_id": f"{parity_run.run_id} st"})
    sub = st_schema.include(operation_id=list(STATEFUL_OPERATIONS))

    class Machine(sub.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": url, "headers": headers, "timeout": parity_run.settings.timeout}

        def before_call(self, case: schemathesis.Case) -> None:
            # Generated create bodies are all rejected (400: the inferred body schema has no
            # minLength/minimum), so the create is seeded with the catalog resource's body;
            # the linked read/patch/delete calls are generated.
            if case.operation.definition.raw.get("operationId") == STATEFUL_OPERATIONS[0]:
                case.body = seed_body

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Any:
            if time.monotonic() > deadline:
                raise _OutOfBudget
            return case.call(**kwargs)

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            steps.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
            is_create = case.operation.definition.raw.get("operationId") == STATEFUL_OPERATIONS[0]
            if is_create and 200 <= response.status_code < 300:
                value: Any = response.json()
                for part in save_path.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if value is not None:
                    created.add(str(value))

        def validate_response(
            self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kw: Any
        ) -> None:
            op_id = case.operation.definition.raw.get("operationId", "")
            applied = [fn for n, fn in CHECKS.items() if n not in EXCLUDED.get(op_id, {})]
            documented = responses_of.get(op_id, {})
            if response.status_code == UNDOCUMENTED_REJECTION and "400" not in documented:
                rejections.append(_curl(case, url, headers, token))
                applied = [fn for fn in applied if fn is not status_code_conformance]
            try:
                case.validate_response(response, checks=applied, headers=headers)
            except (Failure, FailureGroup) as exc:
                for failure in _failures(exc):
                    findings.append(
                        _Finding(
                            check=",".join(type(failure).checks) or type(failure).__name__,
                            title=f"{case.method} {case.path}: {failure.title}",
                            message=failure.message,
                            curl=_curl(case, url, headers, token),
                            status=response.status_code,
                            body="",
                        )
                    )
                raise

    out_of_budget = False
    try:
        Machine.run(
            settings=settings(
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=STATEFUL_STEPS,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
        )
    except _OutOfBudget:
        out_of_budget = True
    except (Failure, FailureGroup):
        pass  # recorded in ``findings`` with its curl line
    finally:
        leftovers = []
        for ident in sorted(created):
            if delete_path is None:
                leftovers.append(ident)
                continue
            path = delete_path.replace("{" + var + "}", ident)
            answer = backend.request(resource.delete.method, path, ROLE)  # type: ignore[union-attr]
            if answer.status_code not in (200, 204, 404):  # 404: the machine deleted it
                leftovers.append(ident)
    if rejections:
        record(
            "not-testable",
            f"status_code_conformance not applied to {len(rejections)} undocumented HTTP "
            f"{UNDOCUMENTED_REJECTION} answer(s) (e.g. {rejections[0]})",
            schemathesis_check="status_code_conformance",
            curl=rejections[0],
        )
    if findings:
        first = findings[0]
        summary = f"{first.title} (HTTP {first.status}); reproduce: {first.curl}"
        record(
            "drift",
            summary,
            curl=first.curl,
            findings=[f.__dict__ for f in findings],
            steps=steps[-20:],
        )
        pytest.fail(
            f"{create_key} [{backend_name}] schemathesis stateful: {summary}\n{first.message}"
        )
    if leftovers:
        record("error", f"created {resource.create.path} entries not deleted: {leftovers}")
        pytest.fail(f"stateful phase left {len(leftovers)} {STATEFUL_RESOURCE}(s): {leftovers}")
    suffix = " (budget spent before the last steps)" if out_of_budget else ""
    record(
        "pass",
        f"{len(steps)} linked call(s), {len(created)} {STATEFUL_RESOURCE}(s) created and "
        f"deleted{suffix}",
        steps=steps[-20:],
    )


class _OutOfBudget(Exception):
    """The fuzz budget ran out in the middle of a stateful scenario."""
