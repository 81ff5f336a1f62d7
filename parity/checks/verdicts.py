"""Verdicts of the single-purpose checks (boundary, auth, errors, CORS, health): findings as
:class:`~parity.engine.diff.Difference` objects, judged against the baseline exactly like the
differential checks' (an accepted finding shows as ``accepted``, never green, and does not
fail), turned into :class:`~parity.core.results.CheckResult` records, and a test outcome.

Error answers are judged against the API's error contract (the catalog's
``checks.errors.envelope``): the expected status, the application envelope with the
expected error code, or, from a backend behind the gateway the catalog declares (its
top-level ``envelope.gateway``: API Gateway's ``{"message": ...}`` in the sandbox), the
gateway's own answer; none declared, no answer is a gateway's. The gateway's shape is
*documented* (the frontend must cope with both), so it is not a drift by itself: the
record says the answer is gateway-originated. What
does differ between the backends (status, code, details, message) is a finding, with its
origin. The errors family judges against the conventions the catalog declares instead
(:mod:`parity.checks.errors_check`), with what both judges share from here: the status and
the envelope's parts compared with the reference's answer, and one record per backend
(:func:`judge_errors`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from parity.core.checkspec import Envelope
from parity.core.envelope import Gateway
from parity.core.jsonpath import JsonPathError, extract
from parity.core.results import CheckResult, Origin, State
from parity.engine.baseline import BASELINE_KEY, Baseline
from parity.engine.diff import Answer, Difference, worst_severity
from parity.engine.runner import Exchange

__all__ = [
    "FAILING",
    "ErrorJudge",
    "ErrorJudgement",
    "answer",
    "conclude",
    "envelope_parts",
    "judge_error",
    "judge_errors",
    "record",
    "reference_status",
    "request_summary",
    "short",
]

FAILING = frozenset({"drift", "missing", "error"})
_ABSENT = "(absent)"


def short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def answer(source: Exchange | httpx.Response) -> Answer:
    """An :class:`Answer` from a runner exchange or an httpx response."""
    if isinstance(source, Exchange):
        return Answer(source.status, dict(source.headers), source.json, source.text)
    headers = {k.lower(): v for k, v in source.headers.items()}
    try:
        return Answer(source.status_code, headers, source.json())
    except ValueError:
        return Answer(source.status_code, headers, None, source.text)


# --- records -----------------------------------------------------------------------------


def record(
    *,
    endpoint: str,
    check: str,
    diffs: list[Difference],
    baseline: Baseline,
    backend: str | None = None,
    scenario: str | None = None,
    status: int | None = None,
    ok: str = "as expected",
    evidence: Mapping[str, Any] | None = None,
    not_testable: str | None = None,
    origin: Origin | None = None,
) -> CheckResult:
    """One record: ``pass`` without differences (``not-testable`` when a reason is given),
    ``accepted`` when the baseline accepts all of them, ``drift`` otherwise.

    ``origin`` is kept on a passing record to say that its answers were gateway-originated.
    """
    used = baseline.apply(endpoint, check, diffs, status=status)
    open_ = [d for d in diffs if d.accepted_by is None]
    details: dict[str, Any] = dict(evidence or {})
    details["differences"] = [d.to_dict() for d in diffs]
    if used:
        details[BASELINE_KEY] = used
    state: State
    if not diffs:
        state = "not-testable" if not_testable else "pass"
        summary = not_testable or ok
    elif not open_:
        state = "accepted"
        reasons = {e.id: e.reason for e in baseline.entries}
        why = "; ".join(f"{i}: {reasons.get(i, '')}" for i in used)
        summary = f"{_listing(diffs)} (accepted by {why})"
    else:
        state = "drift"
        summary = _listing(open_)
    shown = open_ or diffs
    worst = worst_severity(shown) if diffs else None
    return CheckResult(
        endpoint=endpoint,
        check=check,
        state=state,
        summary=summary,
        backend=backend,
        scenario=scenario,
        origin=next((d.origin for d in shown if d.severity == worst), None) if diffs else origin,
        severity=worst,
        evidence=details,
    )


def _listing(diffs: Sequence[Difference]) -> str:
    parts = []
    for d in diffs[:4]:
        text = d.note or f"{d.path}: expected {short(d.expected, 60)}, got {short(d.actual, 60)}"
        parts.append(f"{text} [{d.origin}]")
    more = f" (+{len(diffs) - 4} more)" if len(diffs) > 4 else ""
    return "; ".join(parts) + more


def conclude(records: Iterable[CheckResult], what: str = "") -> None:
    """The test's outcome from its records: fail on any drift/missing/error (naming each),
    else skip when any is not-testable (never a pass), else pass."""
    records = list(records)
    failing = [r for r in records if r.state in FAILING]
    prefix = f"{what}: " if what else ""
    if failing:
        lines = [
            f"{r.backend or 'both'} {r.endpoint}"
            + (f" [{r.scenario}]" if r.scenario else "")
            + f": {r.state}: {r.summary}"
            for r in failing
        ]
        pytest.fail(prefix + "\n".join(lines), pytrace=False)
    untestable = [r for r in records if r.state == "not-testable"]
    if untestable:
        reasons = sorted({f"{r.backend or 'both'}: {r.summary}" for r in untestable})
        pytest.skip(prefix + "not-testable: " + "; ".join(reasons))


# --- error answers -----------------------------------------------------------------------


def _get(body: Any, path: str | None) -> Any:
    if path is None:
        return _ABSENT
    try:
        return extract(body, path)
    except JsonPathError:
        return _ABSENT


@dataclass
class ErrorJudgement:
    """The findings about one backend's error answer; ``gateway`` when the answer is the
    gateway's own (documented, so not a finding by itself)."""

    diffs: list[Difference]
    gateway: bool
    note: str


def judge_error(
    backend: str,
    got: Answer,
    expected_status: int,
    envelope: Envelope,
    *,
    reference: tuple[str, Answer] | None = None,
    gateway_shape: Gateway | None = None,
) -> ErrorJudgement:
    """Judge one backend's error answer against the contract, and against the reference
    backend's answer to the same request (``reference``: its name and answer).
    ``gateway_shape``: the catalog's declared gateway answers (None: none)."""
    diffs: list[Difference] = []
    gateway = _gateway_shaped(gateway_shape, got)
    origin: Origin = "gateway" if gateway else "application"
    where = f"{backend} answered {got.status}"
    if gateway:
        where += f" {short(got.body, 80)} (gateway-originated)"
    if got.status != expected_status:
        diffs.append(
            Difference(
                "status",
                "status",
                expected_status,
                got.status,
                "breaking",
                origin,
                note=f"{where}, expected {expected_status}",
            )
        )
    code = envelope.codes.get(expected_status)
    if gateway:
        assert gateway_shape is not None
        if not gateway_shape.allows(backend, got.status):
            diffs.append(
                Difference(
                    "$",
                    "body",
                    "the error envelope",
                    got.body,
                    "breaking",
                    "application",
                    note=_not_allowed(gateway_shape, backend, got),
                )
            )
    elif got.status == expected_status and envelope.code is not None:  # code: null: none
        actual = _get(got.body, envelope.code)
        if not got.is_json or actual == _ABSENT:
            diffs.append(
                Difference(
                    "$",
                    "body",
                    f"an error envelope with {envelope.code}",
                    got.body if got.is_json else short(got.text or "", 200),
                    "breaking",
                    "application",
                    note=f"{where} without {envelope.code}: {short(got.body or got.text, 100)}",
                )
            )
        elif code is not None and actual != code:
            diffs.append(
                Difference(
                    envelope.code,
                    "value",
                    code,
                    actual,
                    "breaking",
                    "application",
                    note=f"{backend}: {envelope.code} is {actual!r}, expected {code!r}",
                )
            )
    if reference is not None and reference[0] != backend:
        ref_name, ref = reference
        diffs += _against_reference(backend, got, ref_name, ref, envelope, gateway_shape)
    note = where if not diffs else ""
    return ErrorJudgement(diffs, gateway, note)


def _gateway_shaped(gateway: Gateway | None, got: Answer) -> bool:
    """Whether ``got`` is shaped like the declared gateway's own answer (none declared: no)."""
    return gateway is not None and got.is_json and gateway.matches(got.body)


def _not_allowed(gateway: Gateway, backend: str, got: Answer) -> str:
    if not gateway.backends or backend in gateway.backends:  # behind it: not this status
        return (
            f"{backend} answered {got.status} {short(got.body, 80)} in the gateway's shape, "
            "which the catalog allows not with this status (envelope.gateway.statuses)"
        )
    return f"{backend} is not behind a gateway but answered {short(got.body, 80)}"


def _against_reference(
    backend: str,
    got: Answer,
    ref_name: str,
    ref: Answer,
    envelope: Envelope,
    gateway_shape: Gateway | None = None,
) -> list[Difference]:
    """Differences from the reference's answer that the contract check alone misses."""
    gateway = _gateway_shaped(gateway_shape, got) or _gateway_shaped(gateway_shape, ref)
    moved = reference_status(backend, got, ref_name, ref, "gateway" if gateway else "application")
    if moved is not None:
        return [moved]
    if gateway or not (got.is_json and ref.is_json):
        return []  # shapes differ by design (documented gateway answers)
    return envelope_parts(backend, got, ref_name, ref, envelope)


def reference_status(
    backend: str, got: Answer, ref_name: str, ref: Answer, origin: Origin
) -> Difference | None:
    """A status other than the reference's answer to the same request (None: the same); it
    says the whole answer differs, so nothing of the bodies is compared beside it."""
    if got.status == ref.status:
        return None
    return Difference(
        "status",
        "status",
        ref.status,
        got.status,
        "breaking",
        origin,
        note=f"{backend} answered {got.status}, {ref_name} {ref.status}",
    )


def envelope_parts(
    backend: str, got: Answer, ref_name: str, ref: Answer, envelope: Envelope
) -> list[Difference]:
    """The declared parts of the error envelope where ``got`` differs from the reference's
    answer ``ref`` (both JSON): the code and the details are breaking, the message cosmetic."""
    diffs: list[Difference] = []
    for path, severity in (
        (envelope.code, "breaking"),
        (envelope.details, "breaking"),
        (envelope.message, "cosmetic"),
    ):
        if path is None:
            continue
        mine, theirs = _get(got.body, path), _get(ref.body, path)
        if _canonical(mine) != _canonical(theirs):
            diffs.append(
                Difference(
                    path,
                    "value",
                    theirs,
                    mine,
                    severity,  # type: ignore[arg-type]
                    "application",
                    note=f"{path}: {ref_name} {short(theirs, 80)}, {backend} {short(mine, 80)}",
                )
            )
    return diffs


def _canonical(value: Any) -> Any:
    """Lists of objects compared as sets (``error.details`` order carries no meaning)."""
    if isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True, default=str) for v in value)
    return value


def request_summary(exchange: Exchange) -> dict[str, Any]:
    """The redacted request part of a record's evidence."""
    return {"method": exchange.method, "url": exchange.url, "role": exchange.role}


#: How one backend's error answer is judged: its name, its answer, and the reference's name
#: and answer to the same request (None: it is the reference, or the reference has none).
ErrorJudge = Callable[[str, Answer, tuple[str, Answer] | None], ErrorJudgement]


def _response(got: Answer) -> dict[str, Any]:
    return {"status": got.status, "body": got.body if got.is_json else got.text}


def judge_errors(
    answers: Mapping[str, Answer],
    status: int,
    envelope: Envelope,
    baseline: Baseline,
    *,
    endpoint: str,
    check: str,
    scenario: str,
    requests: Mapping[str, dict[str, Any]],
    reference: str = "express",
    judge: ErrorJudge | None = None,
    response: Callable[[Answer], dict[str, Any]] = _response,
    gateway_shape: Gateway | None = None,
) -> list[CheckResult]:
    """One record per backend for an error case: each answer judged against the error
    contract (:func:`judge_error`, or ``judge``) and against the ``reference`` backend's
    answer to the same request; ``response``: an answer as its record's evidence shows it;
    ``gateway_shape``: the catalog's declared gateway answers, for :func:`judge_error`."""
    ref = answers.get(reference)
    records = []
    for name, got in answers.items():
        against = (reference, ref) if ref is not None and name != reference else None
        if judge is None:
            verdict = judge_error(
                name, got, status, envelope, reference=against, gateway_shape=gateway_shape
            )
        else:
            verdict = judge(name, got, against)
        records.append(
            record(
                endpoint=endpoint,
                check=check,
                diffs=verdict.diffs,
                baseline=baseline,
                backend=name,
                scenario=scenario,
                ok=verdict.note,
                origin="gateway" if verdict.gateway else None,
                evidence={"request": requests.get(name, {}), "response": response(got)},
            )
        )
    return records
