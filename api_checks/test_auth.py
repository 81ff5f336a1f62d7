"""Auth sweeps (``pytest -m auth``): moc-api.md "Auth", the plan's risk T2.

- 401 for a missing, a malformed, a wrongly signed and an expired token on every endpoint
  of the catalog whose ``auth`` is not ``public``. The expired token must be signed by the
  pool, so it is supplied (``PARITY_EXPIRED_TOKEN_<ROLE>``; the embedded sandbox writes it
  outside production): without it that case is not-testable, never passed.
- 403 for the catalog's ``checks.auth.other_user`` (bob) on every ``owner`` /
  ``owner-or-admin`` endpoint, against the owner's (alice's) resources: a full sweep, since
  one miss is a data leak. The test ids count them (``mocs.update-1of12``).

Each request is the endpoint's own success scenario (its state set up, then the variant
sent), judged on both backends: the status, the error shape (the envelope's
``UNAUTHORIZED``/``FORBIDDEN``, or the gateway's own answer as the catalog's
``envelope.gateway`` declares it, API Gateway's ``{"message": ...}`` in the sandbox, said to
be gateway-originated; none declared, no answer is a gateway's) and what differs from
Express.
"""

from __future__ import annotations

from typing import Any

import pytest

from parity.checks.sweeps import Target, authenticated, owner_only, sweep_marks, varied
from parity.checks.verdicts import answer, conclude, judge_errors, record, request_summary
from parity.core.catalog import Catalog
from parity.core.checkspec import AuthChecks, Envelope
from parity.core.envelope import Gateway
from parity.core.results import CheckResult
from parity.engine.baseline import Baseline
from parity.engine.guard import refuse_writes
from parity.engine.runner import Exchange, run_scenario, run_variants
from parity.engine.tokens import BadToken, bad_token
from parity.plugin import ParityRun, ResultSink, collection_catalog

pytestmark = [pytest.mark.auth, pytest.mark.parity_family("auth")]

CHECK = "auth"
REFERENCE = "express"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "token_case" in metafunc.fixturenames:
        catalog = collection_catalog(metafunc.config)
        spec = catalog.checks.auth
        variants = list(spec.variants) if spec is not None else []
        params = [
            pytest.param((t, v), id=f"{t.id}-{v}", marks=sweep_marks(catalog, t, CHECK, f"401-{v}"))
            for t in authenticated(catalog)
            for v in variants
        ]
        metafunc.parametrize("token_case", params)
    if "owner_case" in metafunc.fixturenames:
        catalog = collection_catalog(metafunc.config)
        targets = owner_only(catalog) if catalog.checks.auth is not None else []
        n = len(targets)
        params = [
            pytest.param(
                t, id=f"{t.id}-{i}of{n}", marks=sweep_marks(catalog, t, CHECK, "403-other-user")
            )
            for i, t in enumerate(targets, start=1)
        ]
        metafunc.parametrize("owner_case", params)
    if "owner_count" in metafunc.fixturenames:
        n = len(owner_only(collection_catalog(metafunc.config)))
        metafunc.parametrize("owner_count", [n], ids=[f"{n}-owner-only-endpoints"])


@pytest.fixture(scope="module")
def auth_spec(parity_run: ParityRun) -> AuthChecks:
    spec = parity_run.catalog.checks.auth
    if spec is None:
        pytest.skip("the catalog has no checks.auth section")
    return spec


@pytest.fixture(scope="module")
def envelope(parity_run: ParityRun) -> Envelope:
    errors = parity_run.catalog.checks.errors
    return errors.envelope if errors is not None else Envelope()


# (run id, backend, endpoint id) -> variant -> the exchange, or why it is not testable
_TOKEN_SWEEPS: dict[tuple[str, str, str], dict[str, Exchange | BadToken]] = {}


def _token_sweep(
    run: ParityRun, spec: AuthChecks, backend: str, target: Target
) -> dict[str, Exchange | BadToken]:
    """Every token variant of one endpoint on one backend: its state set up once."""
    key = (run.run_id, backend, target.id)
    if key in _TOKEN_SWEEPS:
        return _TOKEN_SWEEPS[key]
    assert target.scenario is not None
    client = run.client(backend)
    role = target.endpoint.role
    header = run.settings.auth_for(backend).header
    out: dict[str, Exchange | BadToken] = {}
    sendable: list[tuple[str, Any]] = []
    for variant in spec.variants:
        token = bad_token(variant, client, run.settings, role, malformed=spec.malformed_token)
        if token.headers is None:
            out[variant] = token
        else:
            scenario = varied(
                target.scenario,
                role="anonymous",
                headers=dict(token.headers),
                drop_headers=(header,),
            )
            sendable.append((variant, scenario))
    exchanges = run_variants(
        client, run.catalog, target.endpoint, target.scenario, [s for _, s in sendable], run.run_id
    )
    for (variant, _), exchange in zip(sendable, exchanges, strict=True):
        out[variant] = exchange
    _TOKEN_SWEEPS[key] = out
    return out


def test_bad_token_is_refused(
    parity_run: ParityRun,
    auth_spec: AuthChecks,
    envelope: Envelope,
    token_case: tuple[Target, str],
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """401 for one kind of bad token on one authenticated endpoint, on every backend."""
    target, variant = token_case
    endpoint = target.endpoint.key
    scenario = f"401-{variant}"
    if target.scenario is None:
        rec = CheckResult(
            endpoint,
            CHECK,
            "error",
            f"{target.id} has no success scenario to vary",
            scenario=scenario,
        )
        parity_results.add(rec)
        pytest.fail(rec.summary, pytrace=False)
    if catalog_writes(parity_run.catalog, target):
        refuse_writes(parity_run.settings, f"the {variant}-token check of {target.id} (its set-up)")
    answers: dict[str, Exchange] = {}
    records: list[CheckResult] = []
    for name in parity_run.selected:
        got = _token_sweep(parity_run, auth_spec, name, target)[variant]
        if isinstance(got, BadToken):
            records.append(
                record(
                    endpoint=endpoint,
                    check=CHECK,
                    diffs=[],
                    baseline=parity_baseline,
                    backend=name,
                    scenario=scenario,
                    not_testable=got.reason,
                )
            )
        else:
            answers[name] = got
    refused = auth_spec.refused_status(target.id)
    records += _judge(
        answers, refused, envelope, _gateway(parity_run), parity_baseline, endpoint, scenario
    )
    parity_results.extend(records)
    conclude(records, f"{target.endpoint.key} with a {variant} token")


def _gateway(run: ParityRun) -> Gateway | None:
    """The gateway answers the catalog declares (documented, so not drift by themselves)."""
    return run.catalog.envelope.gateway if run.catalog.envelope is not None else None


def _judge(
    answers: dict[str, Exchange],
    status: int,
    envelope: Envelope,
    gateway: Gateway | None,
    baseline: Baseline,
    endpoint: str,
    scenario: str,
) -> list[CheckResult]:
    """Every backend's error answer judged against ``status``, the envelope and the declared
    gateway (``gateway``: none, no answer is a gateway's)."""
    return judge_errors(
        {n: answer(e) for n, e in answers.items()},
        status,
        envelope,
        baseline,
        endpoint=endpoint,
        check=CHECK,
        scenario=scenario,
        requests={n: request_summary(e) for n, e in answers.items()},
        reference=REFERENCE,
        gateway_shape=gateway,
    )


def catalog_writes(catalog: Catalog, target: Target) -> bool:
    return target.scenario is None or catalog.writes(target.endpoint, target.scenario)


def test_other_user_is_forbidden(
    parity_run: ParityRun,
    auth_spec: AuthChecks,
    envelope: Envelope,
    owner_case: Target,
    parity_results: ResultSink,
    parity_baseline: Baseline,
) -> None:
    """403 for another user on one owner-only endpoint of the owner's resource."""
    target = owner_case
    endpoint = target.endpoint.key
    scenario = "403-other-user"
    if target.scenario is None:
        rec = CheckResult(
            endpoint,
            CHECK,
            "error",
            f"{target.id} has no success scenario to vary",
            scenario=scenario,
        )
        parity_results.add(rec)
        pytest.fail(rec.summary, pytrace=False)
    if catalog_writes(parity_run.catalog, target):
        refuse_writes(parity_run.settings, f"the 403 check of {target.id} (its set-up)")
    other = varied(target.scenario, role=auth_spec.other_user)
    answers = {
        name: run_scenario(
            parity_run.client(name), parity_run.catalog, target.endpoint, other, parity_run.run_id
        )
        for name in parity_run.selected
    }
    records = _judge(
        answers,
        auth_spec.forbidden_status,
        envelope,
        _gateway(parity_run),
        parity_baseline,
        endpoint,
        scenario,
    )
    parity_results.extend(records)
    for r in records:
        who = f"{auth_spec.other_user} on {target.endpoint.role}'s resource"
        print(f"{r.backend}: {who} via {endpoint}: {r.state}: {r.summary}")
    conclude(records, f"{auth_spec.other_user} on {target.endpoint.role}'s resource via {endpoint}")


def test_forbidden_sweep_covers_every_owner_only_endpoint(
    parity_run: ParityRun, auth_spec: AuthChecks, owner_count: int
) -> None:
    """The 403 sweep is the catalog's full list of owner-only endpoints (the test id says
    how many), none without a success scenario to vary; prints them."""
    targets = owner_only(parity_run.catalog)
    assert len(targets) == owner_count
    missing = [t.id for t in targets if t.scenario is None]
    print(
        f"403 sweep: {len(targets)} owner-only endpoints of the catalog, each sent by "
        f"{auth_spec.other_user} on every selected backend ({', '.join(parity_run.selected)}): "
        + ", ".join(t.endpoint.key for t in targets)
    )
    assert targets, "the catalog declares no owner-only endpoint: nothing to sweep"
    assert not missing, f"owner-only endpoints without a success scenario to vary: {missing}"
