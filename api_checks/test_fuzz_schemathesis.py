"""Schemathesis (4.x) over the OpenAPI document ``parity/engine/openapi.py`` builds from the catalog
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import allure
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, example, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from parity.checks.fuzz import FUZZ_CHECK, SingleOutcome, same_failure
from parity.checks.fuzzbody import tagged_fields
from parity.core.catalog import Catalog, Creates, Endpoint, Scenario, Step
from parity.core.errors import ParityError
from parity.core.jsonpath import extract
from parity.core.results import CheckResult
from parity.core.templating import placeholders, render
from parity.engine.client import BackendClient
from parity.engine.contracts import ContractStore
from parity.engine.openapi import build_openapi, resource_links
from parity.engine.runner import provisioned, send_step
from parity.plugin import ParityRun, ResultSink, collection_catalog
from parity.plugin.options import rooted

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.parity_check(FUZZ_CHECK),
    pytest.mark.parity_family("fuzz"),
]

#: Generated requests per operation (small: the suite runs this for both backends).
SCHEMATHESIS_EXAMPLES = 10
#: Generated requests per write operation (each sets up and tears down its own resource).
SCHEMATHESIS_WRITE_EXAMPLES = 5
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
    if "st_operation" in metafunc.fixturenames:
        catalog = collection_catalog(metafunc.config)
        ops = [e.id for e in catalog.endpoints if e.method == "GET"]
        metafunc.parametrize("st_operation", ops, ids=ops)
    if "st_write_operation" in metafunc.fixturenames:
        catalog = collection_catalog(metafunc.config)
        ops = [e.id for e in catalog.endpoints if e.method != "GET"]
        metafunc.parametrize("st_write_operation", ops, ids=ops)
    if "st_resource" in metafunc.fixturenames:
        catalog = collection_catalog(metafunc.config)
        names = stateful_resources(catalog)
        metafunc.parametrize("st_resource", names, ids=names)


@pytest.fixture(scope="session")
def st_document(parity_run: ParityRun, pytestconfig: pytest.Config) -> dict[str, Any]:
    """The OpenAPI document of the run's catalog and contracts (what ``parity openapi`` writes)."""
    contracts = rooted(pytestconfig, parity_run.settings.contracts)
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
    #: failures the other backend shares for the same request: no difference, information
    shared: list[_Finding] = field(default_factory=list)
    #: requests neither backend answered (a timeout, a dropped connection): curl lines
    unanswered: list[str] = field(default_factory=list)


@dataclass
class _Other:
    """The other backend of the pair, sent each request that failed a check: a failure
    both answer alike is no difference (:func:`parity.checks.fuzz.same_failure`)."""

    name: str
    url: str
    headers: dict[str, str]
    token: str


def _other_backend(parity_run: ParityRun, backend_name: str) -> _Other | None:
    """The other selected backend, live (None: judged alone, as a single-backend run)."""
    for name in parity_run.settings.selected_backends:
        url = parity_run.settings.url_for(name)
        if name == backend_name or url is None:
            continue
        try:
            headers, token = _credentials(parity_run.client(name), ROLE)
        except ParityError:
            return None
        return _Other(name, url, headers, token)
    return None


def _other_outcome(
    case: schemathesis.Case,
    other: _Other,
    checks: list[Any],
    *,
    undocumented_rejection: bool,
    timeout: float,
) -> tuple[SingleOutcome, str] | None:
    """The other backend's answer to the same case: its status and failed checks, and a
    line saying so; None when it could not be asked (then the failure stands alone)."""
    try:
        response = case.call(base_url=other.url, headers=other.headers, timeout=timeout)
    except Exception:  # unreachable, a refused connection: nothing to compare with
        return None
    findings: list[_Finding] = []
    _validate(
        case,
        response,
        checks,
        other.headers,
        undocumented_rejection=undocumented_rejection,
        curl="",
        rejections=[],
        findings=findings,
    )
    failed = frozenset(c for f in findings for c in f.check.split(",") if c)
    said = ", ".join(sorted(failed)) if failed else "every check passed"
    return SingleOutcome(response.status_code, failed), (
        f"{other.name}: HTTP {response.status_code}, {said}"
    )


def _no_answer(
    run: _Run, exc: Exception, *, curl: str, theirs: tuple[SingleOutcome, str] | None
) -> None:
    """A generated request this backend did not answer: a finding when the other backend
    answers it (``theirs``: :func:`_other_outcome`), else one more request neither answered."""
    what = f"no answer ({type(exc).__name__})"
    if theirs is None:
        run.unanswered.append(f"{what}: {curl}")
        return
    run.findings.append(
        _Finding(
            check="no_answer",
            title=what,
            message=f"{what}\n(the other backend answers otherwise: {theirs[1]})",
            curl=curl,
            status=0,
            body="",
        )
    )


def _curl(
    case: schemathesis.Case, url: str, headers: dict[str, str], token: str, role: str = ROLE
) -> str:
    """The request as a curl line; the auth header carries ``$PARITY_TOKEN_<ROLE>`` (double
    quoted so the shell expands it), never the secret nor Schemathesis' ``[Filtered]``."""
    var = f"$PARITY_TOKEN_{role.upper()}"
    line = case.as_curl_command(base_url=url)
    for name, value in headers.items():
        line = re.sub(rf" -H '{re.escape(name)}: [^']*'", "", line, flags=re.IGNORECASE)
        shown = value.replace(token, var) if token else value
        line += f' -H "{name}: {shown}"'
    return line.replace(token, var) if token else line


def _hide(text: str, token: str) -> str:
    return text.replace(token, TOKEN_VAR) if token else text


_SPENT = "the fuzz budget (--fuzz-budget) was spent before {}"


@dataclass
class _Recorder:
    """One test's fuzz records: check ``fuzz``, the tool (and phase) in the evidence."""

    sink: ResultSink
    endpoint: str
    backend: str
    label: str = ""  # the summary's prefix, e.g. "generated writes: "
    phase: str | None = None

    def __call__(self, state: Any, summary: str, **evidence: Any) -> None:
        phase = {"phase": self.phase} if self.phase else {}
        self.sink.add(
            CheckResult(
                endpoint=self.endpoint,
                check=FUZZ_CHECK,
                state=state,
                summary=self.label + summary,
                backend=self.backend,
                evidence={"tool": "schemathesis", **phase, **evidence},
            )
        )

    def skip(self, state: Any, reason: str) -> NoReturn:
        """Record ``reason`` and skip: a check that could not run is never a pass."""
        self(state, reason)
        pytest.skip(reason)

    def skip_when_spent(self, deadline: float, before: str) -> None:
        if time.monotonic() > deadline:
            self.skip("skipped", _SPENT.format(before))


def _credentials(backend: BackendClient, role: str) -> tuple[dict[str, str], str]:
    """The role's auth headers and the bare token (hidden again in recorded curls)."""
    headers = dict(backend.auth.headers(role))
    return headers, backend.auth.token(role) if headers else ""


def _failures(exc: BaseException) -> list[Failure]:
    if isinstance(exc, FailureGroup):
        return list(exc.exceptions)
    return [exc] if isinstance(exc, Failure) else []


def _validate(
    case: schemathesis.Case,
    response: Any,
    checks: list[Any],
    headers: dict[str, str],
    *,
    undocumented_rejection: bool,
    curl: str,
    rejections: list[str],
    findings: list[_Finding],
    title_prefix: str = "",
    body: str = "",
) -> Failure | FailureGroup | None:
    """Run Schemathesis' checks on one answer and record each failure as a finding (with
    the request as curl). A 400 the document does not list is recorded as a rejection and
    spared ``status_code_conformance``. Returns the failure, if any, for a caller that must
    re-raise it (the state machine)."""
    applied = checks
    if undocumented_rejection and response.status_code == UNDOCUMENTED_REJECTION:
        rejections.append(curl)
        applied = [fn for fn in checks if fn is not status_code_conformance]
    try:
        case.validate_response(response, checks=applied, headers=headers)
    except (Failure, FailureGroup) as exc:
        for failure in _failures(exc):
            findings.append(
                _Finding(
                    check=",".join(type(failure).checks) or type(failure).__name__,
                    title=title_prefix + failure.title,
                    message=failure.message,
                    curl=curl,
                    status=response.status_code,
                    body=body,
                )
            )
        return exc
    return None


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
    record = _Recorder(parity_results, endpoint.key, backend_name)
    record.skip_when_spent(deadline, "this operation")
    url = parity_run.settings.url_for(backend_name)
    assert url is not None
    headers, token = _credentials(backend, ROLE)
    excluded = EXCLUDED.get(st_operation, {})
    for check, reason in excluded.items():
        record("not-testable", f"schemathesis {check} not run: {reason}", schemathesis_check=check)
    checks = [fn for name, fn in CHECKS.items() if name not in excluded]
    documented = st_document["paths"][endpoint.route][endpoint.method.lower()]["responses"]
    rejection_undocumented = str(UNDOCUMENTED_REJECTION) not in documented
    operation = st_schema.find_operation_by_id(st_operation)  # type: ignore[attr-defined]
    run = _Run()
    other = _other_backend(parity_run, backend_name)

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
        try:
            response = case.call(base_url=url, headers=headers, timeout=parity_run.settings.timeout)
        except requests.RequestException as exc:
            # No answer is a result, never a traceback: a difference where the other
            # backend answers the same case, information where it does not either.
            run.sent += 1
            theirs = None
            if other is not None:  # None again when it does not answer either
                theirs = _other_outcome(
                    case,
                    other,
                    checks,
                    undocumented_rejection=rejection_undocumented,
                    timeout=parity_run.settings.timeout,
                )
            _no_answer(run, exc, curl=_curl(case, url, headers, token), theirs=theirs)
            return
        run.sent += 1
        found: list[_Finding] = []
        _validate(
            case,
            response,
            checks,
            headers,
            undocumented_rejection=rejection_undocumented,
            curl=_curl(case, url, headers, token),
            rejections=run.rejections,
            findings=found,
            body=_hide(_text_of(response)[:2000], token),
        )
        if not found:
            return
        # A failure is a difference only where the other backend answers the same case
        # otherwise: the same crash on both is information, not a failing cell.
        theirs = None
        if other is not None:
            theirs = _other_outcome(
                case,
                other,
                checks,
                undocumented_rejection=rejection_undocumented,
                timeout=parity_run.settings.timeout,
            )
        mine = SingleOutcome(
            response.status_code, frozenset(c for f in found for c in f.check.split(",") if c)
        )
        if theirs is not None and same_failure(mine, theirs[0]):
            for f in found:
                f.message = _hide(
                    f"{f.message}\n(same on {theirs[1]})", other.token if other else ""
                )
            run.shared.extend(found)
            return
        if theirs is not None:
            for f in found:
                f.message += f"\n(the other backend answers otherwise: {theirs[1]})"
        run.findings.extend(found)

    generated()
    if run.unanswered:
        record(
            "not-testable",
            f"{len(run.unanswered)} generated request(s) got no answer from either backend "
            f"within {parity_run.settings.timeout:g} s (raise `timeout` in parity.toml if the "
            f"API is slow there), e.g. {run.unanswered[0]}",
            curl=run.unanswered[0].split(": ", 1)[-1],
        )
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
    # the first few shared failures as evidence (each carries its answer's body)
    shared = {"same_on_both": [f.__dict__ for f in run.shared[:5]]} if run.shared else {}
    if run.findings:
        first = run.findings[0]
        summary = f"{first.title} (HTTP {first.status}); reproduce: {first.curl}"
        record(
            "drift",
            summary,
            curl=first.curl,
            findings=[f.__dict__ for f in run.findings],
            examples=run.sent,
            **shared,
        )
        pytest.fail(f"{endpoint.key} [{backend_name}] schemathesis: {summary}\n{first.message}")
    if run.sent == 0:
        record.skip("skipped", _SPENT.format("any request was sent"))
    suffix = " (budget spent before the last examples)" if run.out_of_budget else ""
    alike = ""
    if run.shared and other is not None:
        first = run.shared[0]
        alike = (
            f"; {len(run.shared)} failure(s) {other.name} shares for the same request, no "
            f"difference: {first.title} (HTTP {first.status}), e.g. {first.curl}"
        )
    record(
        "pass",
        f"{run.sent} generated request(s), checks {', '.join(sorted(CHECKS))} passed"
        f"{alike}{suffix}",
        examples=run.sent,
        **shared,
    )


# --- generated writes, one test per POST/PATCH/DELETE operation -----------------------------


def _write_base(endpoint: Endpoint) -> Scenario | None:
    """The scenario a generated write stands in for: the first 2xx one sent as a user, or
    anonymously where the endpoint is public (an API without users, a register or login)."""
    return next(
        (
            s
            for s in endpoint.scenarios
            if all(200 <= x < 300 for x in s.expect)
            and (s.role != "anonymous" or endpoint.auth == "public")
            and not any(k.lower() == "authorization" for k in s.headers)
        ),
        None,
    )


def _uncleanable(catalog: Catalog, endpoint: Endpoint, scenario: Scenario | None) -> str | None:
    """Why generated requests to ``endpoint`` could change data nothing undoes (or None)."""
    if scenario is None:
        return (
            "the catalog has no 2xx scenario to base generated writes on (sent as a user, "
            "or anonymously on a public endpoint)"
        )
    if scenario.creates is not None:
        return None  # what it creates is deleted with the scenario's ``creates.delete``
    if endpoint.method in ("HEAD", "OPTIONS") or endpoint.stateless:
        return None  # a read, or an endpoint that stores nothing (catalog `stateless`)
    provided = {
        v for name in catalog.resource_order(scenario.uses) for v in catalog.resources[name].save
    }
    if endpoint.route_params and all(
        placeholders_of(scenario.params.get(p)) <= provided and p in scenario.params
        for p in endpoint.route_params
    ):
        return None  # it acts on a resource provisioned for it and deleted afterwards
    return (
        "a generated write here changes state that nothing deletes again (no `creates:` and "
        "no provisioned resource in its route); covered by the catalog scenarios and the "
        "differential body fuzzing instead"
    )


def _text_of(response: Any) -> str:
    """The answer's body as text for the evidence: a binary body (random bytes, an image)
    has no text, its bytes are shown as what UTF-8 makes of them."""
    return bytes(response.content or b"").decode("utf-8", errors="replace")


def _json_or_none(response: Any) -> Any:
    """The answer's JSON (None for an empty or non-JSON body: nothing to save from it)."""
    try:
        return response.json()
    except ValueError:
        return None


def placeholders_of(value: Any) -> set[str]:
    return set(placeholders(value)) if value is not None else {"\x00"}


def _delete_created(
    backend: BackendClient, creates: Creates, answer: Any, variables: dict[str, Any], run_id: str
) -> str | None:
    """Delete what a generated create made (the ``creates.delete`` step as the catalog
    spells it, body included: a singular resource is put back by a PUT); a problem as text
    (a leftover) or None."""
    saved: dict[str, Any] = dict(variables)
    for var, path in creates.save.items():
        value = extract(answer, path, None)
        if value is None:
            return f"created, but {path} is not in the answer: cannot delete it"
        saved[var] = value
    delete = creates.delete
    try:
        gone = send_step(backend, delete, saved, run_id, label="generated write: created (delete)")
    except ParityError as exc:
        return f"{delete.method} {delete.path}: {exc}"
    if gone.status_code not in (*range(200, 300), 404):
        return f"{delete.method} {gone.request.url.path} answered {gone.status_code}"
    return None


def _explicit(
    operation: Any, scenario: Scenario, run_id: str
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The catalog scenario's own body as the first (explicit) example, so the success path
    (a 2xx, a created resource to delete) is exercised whatever the generated ones do; none
    when the body needs a saved id the setup has not made yet."""
    body = _body_of(scenario, run_id)
    if body is None:
        return lambda fn: fn
    media = "application/json" if scenario.has_json else "multipart/form-data"
    return example(case=operation.Case(body=body, media_type=media))


def _tagged(body: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """``body`` with the run-id prefix put back on each tagged string field (titles)."""
    return {
        k: (tags[k] + v if k in tags and isinstance(v, str) and not v.startswith(tags[k]) else v)
        for k, v in body.items()
    }


def _body_of(parts: Scenario | Step, run_id: str) -> Any:
    """A catalog request's body as Schemathesis sends it (a multipart form as one dict of
    fields and file bytes), placeholders filled from ``run_id`` only; None without one."""
    if parts.has_json:
        if not set(placeholders(parts.json_body)) <= {"run_id"}:
            return None
        return render(parts.json_body, {"run_id": run_id})
    if parts.multipart is not None:
        if not set(placeholders(dict(parts.multipart.fields))) <= {"run_id"}:
            return None
        form: dict[str, Any] = dict(render(dict(parts.multipart.fields), {"run_id": run_id}))
        form.update({name: spec.payload() for name, spec in parts.multipart.files.items()})
        return form
    return None


@pytest.mark.writes
def test_fuzz_schemathesis_writes(
    parity_run: ParityRun,
    backend: BackendClient,
    backend_name: str,
    st_schema: schemathesis.BaseSchema,
    st_document: dict[str, Any],
    st_write_operation: str,
    parity_results: ResultSink,
    fuzz_deadline: float,
) -> None:
    """Generated POST/PATCH/DELETE requests to one operation, with the real token of the
    role its catalog scenario uses: route ids point at a resource provisioned for each
    example (deleted after it, like the catalog's ``uses:``), a generated create's resource
    is deleted with the scenario's ``creates.delete``, and generated values of run-id
    tagged fields (titles) keep the ``parity <run id>`` prefix."""
    catalog = parity_run.catalog
    endpoint = catalog.get(st_write_operation)
    allure.dynamic.parameter("st_write_operation", endpoint.key)
    deadline = fuzz_deadline
    record = _Recorder(
        parity_results, endpoint.key, backend_name, "generated writes: ", phase="writes"
    )
    scenario = _write_base(endpoint)
    reason = _uncleanable(catalog, endpoint, scenario)
    if scenario is None and reason is not None:  # nothing the API answers 2xx to: no base
        record("not-applicable", reason)
        pytest.skip(f"not-applicable: {reason}")
    if reason is not None:
        record.skip("not-testable", reason)
    assert scenario is not None
    record.skip_when_spent(deadline, "this operation")
    url = parity_run.settings.url_for(backend_name)
    assert url is not None
    role = scenario.role
    headers, token = _credentials(backend, role)
    tags = {
        k: str(render(p, {"run_id": parity_run.run_id})) for k, p in tagged_fields(endpoint).items()
    }
    checks = [fn for name, fn in CHECKS.items() if name not in EXCLUDED.get(endpoint.id, {})]
    documented = st_document["paths"][endpoint.route][endpoint.method.lower()]["responses"]
    rejection_undocumented = str(UNDOCUMENTED_REJECTION) not in documented
    operation = st_schema.find_operation_by_id(endpoint.id)  # type: ignore[attr-defined]
    run = _Run()
    statuses: dict[int, int] = {}
    created = 0
    leftovers: list[str] = []

    @settings(
        max_examples=SCHEMATHESIS_WRITE_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    @_explicit(operation, scenario, parity_run.run_id)
    def generated(case: schemathesis.Case) -> None:
        nonlocal created
        if run.findings or leftovers:
            return
        if time.monotonic() > deadline:
            run.out_of_budget = True
            return
        try:
            with provisioned(
                backend,
                catalog,
                scenario.uses,
                parity_run.run_id,
                label=f"{endpoint.id} fuzz",
                deletes=endpoint.method == "DELETE",  # a generated DELETE deletes it
            ) as variables:
                if endpoint.route_params:
                    case.path_parameters = {
                        p: str(render(scenario.params[p], variables)) for p in endpoint.route_params
                    }
                if isinstance(case.body, dict) and tags:
                    case.body = _tagged(case.body, tags)
                response = case.call(
                    base_url=url, headers=headers, timeout=parity_run.settings.timeout
                )
                run.sent += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if scenario.creates is not None and 200 <= response.status_code < 300:
                    created += 1
                    problem = _delete_created(
                        backend, scenario.creates, _json_or_none(response), variables,
                        parity_run.run_id,
                    )  # fmt: skip
                    if problem is not None:
                        leftovers.append(f"{_curl(case, url, headers, token, role)}: {problem}")
                _validate(
                    case,
                    response,
                    checks,
                    headers,
                    undocumented_rejection=rejection_undocumented,
                    curl=_curl(case, url, headers, token, role),
                    rejections=run.rejections,
                    findings=run.findings,
                    body=_hide(_text_of(response)[:2000], token),
                )
        except ParityError as exc:  # provisioning or its teardown failed: data may be left
            leftovers.append(str(exc))

    generated()
    seen = ", ".join(f"{n}x{code}" for code, n in sorted(statuses.items()))
    if leftovers:
        record(
            "error", f"left data behind or could not set up: {leftovers[0]}", leftovers=leftovers
        )
        pytest.fail(f"{endpoint.key} [{backend_name}] generated writes: {leftovers[0]}")
    if run.rejections:
        record(
            "not-testable",
            f"status_code_conformance not applied to {len(run.rejections)} undocumented HTTP "
            f"{UNDOCUMENTED_REJECTION} answer(s) (e.g. {run.rejections[0]})",
            schemathesis_check="status_code_conformance",
            curl=run.rejections[0],
        )
    if run.findings:
        first = run.findings[0]
        summary = f"{first.title} (HTTP {first.status}); reproduce: {first.curl}"
        record("drift", summary, curl=first.curl, findings=[f.__dict__ for f in run.findings])
        pytest.fail(
            f"{endpoint.key} [{backend_name}] schemathesis writes: {summary}\n{first.message}"
        )
    if run.sent == 0:
        record.skip("skipped", _SPENT.format("any request was sent"))
    suffix = " (budget spent before the last examples)" if run.out_of_budget else ""
    record(
        "pass",
        f"{run.sent} generated {endpoint.method} request(s) as {role} ({seen}), "
        f"{created} created and deleted, checks passed{suffix}",
        examples=run.sent,
        statuses={str(k): v for k, v in statuses.items()},
        created=created,
    )


# --- stateful phases: create a resource, then follow the document's links ------------------
# (a MOC: read, patch, delete, its files; an album: read, delete; an image: read, patch,
# delete; a wishlist item: patch, delete), one test per catalog resource with links.

#: Scenarios (each a few linked calls) and calls per scenario: small, the suite runs each
#: resource on both backends.
STATEFUL_SCENARIOS = 4
STATEFUL_STEPS = 4


def stateful_resources(catalog: Catalog) -> list[str]:
    """The catalog resources the document links from their create to other operations."""
    return [found.resource for found in resource_links(catalog)]


@pytest.mark.writes
def test_fuzz_schemathesis_stateful(
    parity_run: ParityRun,
    backend: BackendClient,
    backend_name: str,
    st_schema: schemathesis.BaseSchema,
    st_document: dict[str, Any],
    st_resource: str,
    parity_results: ResultSink,
    pytestconfig: pytest.Config,
    fuzz_deadline: float,
) -> None:
    """Schemathesis' stateful phase over one resource's create -> linked operations, with
    the token of the role that creates it and the same checks; every resource it creates
    is deleted afterwards."""
    links = next(r for r in resource_links(parity_run.catalog) if r.resource == st_resource)
    resource = parity_run.catalog.resources[st_resource]
    create_key = links.create.key
    create_id = links.create.id
    operations = links.operation_ids
    allure.dynamic.parameter("st_resource", st_resource)
    deadline = fuzz_deadline
    record = _Recorder(
        parity_results, create_key, backend_name, f"stateful ({st_resource}): ", phase="stateful"
    )
    record.skip_when_spent(deadline, "the stateful phase")
    maybe_url = parity_run.settings.url_for(backend_name)
    assert maybe_url is not None
    url: str = maybe_url
    role = resource.create.role
    headers, token = _credentials(backend, role)
    var, save_path = next((v, p) for v, p, _ in links.targets)
    created: set[str] = set()
    steps: list[str] = []
    findings: list[_Finding] = []
    rejections: list[str] = []
    responses_of = {
        op["operationId"]: op["responses"]
        for item in st_document["paths"].values()
        for op in item.values()
    }
    seed_body = _body_of(resource.create, f"{parity_run.run_id} st")
    # generated PATCH bodies keep the run id on titles, so `parity cleanup --run-id` still
    # finds what a killed run renamed
    tags_of = {
        e.id: {
            k: str(render(p, {"run_id": parity_run.run_id})) for k, p in tagged_fields(e).items()
        }
        for e in parity_run.catalog.endpoints
        if e.id in operations
    }
    sub = st_schema.include(operation_id=operations)

    class Machine(sub.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": url, "headers": headers, "timeout": parity_run.settings.timeout}

        def before_call(self, case: schemathesis.Case) -> None:
            # Generated create bodies are all rejected (400: the inferred body schema has no
            # minLength/minimum), so the create is seeded with the catalog resource's body;
            # the linked read/patch/delete calls are generated.
            op_id = case.operation.definition.raw.get("operationId")
            if op_id == create_id:
                case.body = seed_body
            elif isinstance(case.body, dict) and tags_of.get(op_id):
                case.body = _tagged(case.body, tags_of[op_id])

        def call(self, case: schemathesis.Case, **kwargs: Any) -> Any:
            if time.monotonic() > deadline:
                raise _OutOfBudget
            return case.call(**kwargs)

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            steps.append(f"{case.method} {case.formatted_path} -> {response.status_code}")
            is_create = case.operation.definition.raw.get("operationId") == create_id
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
            failure = _validate(
                case,
                response,
                applied,
                headers,
                undocumented_rejection="400" not in documented,
                curl=_curl(case, url, headers, token, role),
                rejections=rejections,
                findings=findings,
                title_prefix=f"{case.method} {case.path}: ",
            )
            if (
                failure is not None
            ):  # stops this state machine run: the first failure is the finding
                raise failure

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
            if resource.delete is None:
                leftovers.append(ident)
                continue
            path = str(render(resource.delete.path, {var: ident}))
            answer = backend.request(resource.delete.method, path, resource.delete.role)
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
        pytest.fail(f"stateful phase left {len(leftovers)} {st_resource}(s): {leftovers}")
    suffix = " (budget spent before the last steps)" if out_of_budget else ""
    record(
        "pass",
        f"{len(steps)} linked call(s) over {', '.join(operations)}, {len(created)} "
        f"{st_resource}(s) created and deleted{suffix}",
        steps=steps[-20:],
    )


class _OutOfBudget(Exception):
    """The fuzz budget ran out in the middle of a stateful scenario."""
