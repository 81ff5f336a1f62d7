"""Differential checks (Diffy's idea): one catalog scenario sent to the reference (Express)
and to the candidate (serverless), the answers diffed check by check.

Reads are sent to the reference twice, around the candidate (reference, candidate,
reference): paths that differ between the two reference answers are *noise* (timestamps,
request ids, and anything another client changed meanwhile, which then shows up between
the two reference answers too). Noise is listed in every record, never dropped silently.
Writes are sent once to each: each backend creates its own resource (the catalog's
``creates:``/``uses:`` delete them again), and the declared rules (``noise: ignore``) say
which values differ by nature; structure and types are compared everywhere.

The result is one :class:`~parity.core.results.CheckResult` per check (``status``, ``headers``,
``envelope``) with the evidence: the redacted request, both answers, the differences and
the noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

from parity.core.catalog import Case, Catalog, Scenario
from parity.core.envelope import Envelope, gateway_predicate, text_paths
from parity.core.errors import ParityError
from parity.core.normalize import HeaderRules, PathPattern, Rules
from parity.core.redact import redact
from parity.core.results import CheckResult, State
from parity.engine.baseline import BASELINE_KEY, Baseline
from parity.engine.client import BackendClient
from parity.engine.diff import (
    Answer,
    Difference,
    NoiseHit,
    compare,
    learn_noise,
    no_gateway,
    worst_severity,
)
from parity.engine.provenance import provenance_differences
from parity.engine.runner import Exchange, run_scenario

__all__ = [
    "CHECKS",
    "FAILING_STATES",
    "CaseOutcome",
    "LiveSource",
    "Source",
    "answer_of",
    "error_records",
    "not_testable_records",
    "run_case",
]

#: The checks a differential run reports, in matrix column order.
CHECKS: tuple[str, ...] = ("status", "headers", "envelope")
#: States that fail the run (``accepted`` does not).
FAILING_STATES: frozenset[str] = frozenset({"drift", "missing", "error"})

_BODY_LIMIT = 20_000  # characters of pretty JSON kept per body in the evidence
_SHOWN = 3  # differences named in a one-line summary


class Source(Protocol):
    """Where a scenario's answer comes from: a live backend, or recorded cassettes
    (:mod:`parity.engine.replay`). ``live`` is False for recordings: their values come from
    another run, so only the shape of the envelope is compared with them."""

    live: bool

    @property
    def name(self) -> str: ...  # read-only: LiveSource takes it from its client

    def exchange(self, case: Case, scenario: Scenario) -> Exchange: ...

    def again(self, case: Case, scenario: Scenario) -> Exchange | None:
        """A second answer to the same read, to learn noise from (None: there is none)."""
        ...


@dataclass
class LiveSource:
    """A backend reached over HTTP; the scenario's setup and teardown run on it too."""

    client: BackendClient
    catalog: Catalog
    run_id: str
    live: bool = True

    @property
    def name(self) -> str:
        return self.client.name

    def exchange(self, case: Case, scenario: Scenario) -> Exchange:
        return run_scenario(self.client, self.catalog, case.endpoint, scenario, self.run_id)

    def again(self, case: Case, scenario: Scenario) -> Exchange | None:
        return self.exchange(case, scenario)


@dataclass
class CaseOutcome:
    records: list[CheckResult]
    noise: list[NoiseHit] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.records if r.state in FAILING_STATES]


def answer_of(exchange: Exchange) -> Answer:
    return Answer(exchange.status, dict(exchange.headers), exchange.json, exchange.text)


def _with_origin(scenario: Scenario, origin: str | None) -> Scenario:
    # The frontend's origin makes both backends answer with their CORS headers, so those
    # are compared as the browser sees them.
    if origin is None or any(k.lower() == "origin" for k in scenario.headers):
        return scenario
    return scenario.model_copy(update={"headers": {**scenario.headers, "Origin": origin}})


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(check: str, state: State, diffs: list[Difference], reasons: dict[str, str]) -> str:
    open_ = [d for d in diffs if d.accepted_by is None]
    if state == "pass":
        return {"status": "same status", "headers": "same headers"}.get(check, "same envelope")
    if state == "accepted":
        ids = sorted({d.accepted_by or "" for d in diffs})
        why = "; ".join(f"{i}: {reasons.get(i, '')}" for i in ids)
        return f"{len(diffs)} accepted difference(s) ({why})"
    shown = "; ".join(
        f"{d.path}: {d.kind} {_short(d.expected)} -> {_short(d.actual)}" for d in open_[:_SHOWN]
    )
    more = f" (+{len(open_) - _SHOWN} more)" if len(open_) > _SHOWN else ""
    return f"{len(open_)} difference(s): {shown}{more}"


def _state(check: str, diffs: list[Difference]) -> State:
    open_ = [d for d in diffs if d.accepted_by is None]
    if not diffs:
        return "pass"
    if not open_:
        return "accepted"
    if any(d.kind == "missing-endpoint" for d in open_):
        return "missing"
    return "drift"


def _body(answer: Answer) -> dict[str, Any]:
    if not answer.is_json:
        text = answer.text or ""
        clipped = text[:_BODY_LIMIT] + ("..." if len(text) > _BODY_LIMIT else "")
        return {"text": clipped}
    pretty = json.dumps(answer.body, indent=2, ensure_ascii=False, default=str)
    if len(pretty) > _BODY_LIMIT:
        return {"text": pretty[:_BODY_LIMIT] + f"... ({len(pretty)} characters)", "clipped": True}
    return {"json": answer.body}


def _response(exchange: Exchange) -> dict[str, Any]:
    return {
        "status": exchange.status,
        "headers": dict(sorted(exchange.headers.items())),
        "elapsed_ms": exchange.elapsed_ms,
        **_body(answer_of(exchange)),
    }


def _request(exchange: Exchange) -> dict[str, Any]:
    url = exchange.url.split("://", 1)[-1]
    path = "/" + url.split("/", 1)[1] if "/" in url else "/"
    return {
        "method": exchange.method,
        "path": path,
        "role": exchange.role,
        "headers": exchange.request_headers,
        "body": exchange.request_body,
    }


def run_case(
    case: Case,
    reference: Source,
    candidate: Source,
    *,
    baseline: Baseline | None = None,
    origin: str | None = None,
    today: date | None = None,
    envelope: Envelope | Literal["catalog"] | None = "catalog",
) -> CaseOutcome:
    """Send ``case`` to both sources and judge status, headers and envelope.

    ``envelope``: the API's convention (which paths are human text, which answers are the
    gateway's own); by default the catalog's of a live source, and the built-in rules of
    :func:`parity.engine.diff.compare` when no source has a catalog (recordings against fakes).

    A :class:`~parity.core.errors.ParityError` on either side (unreachable backend, failed
    setup) gives ``error`` records naming the reason instead of raising.
    """
    endpoint = case.endpoint
    # A recording was made without the frontend's Origin: send what was recorded.
    scenario = _with_origin(case.scenario, origin if reference.live else None)
    try:
        first = reference.exchange(case, scenario)
    except LookupError as exc:  # no recording of this scenario
        return CaseOutcome(not_testable_records(case, str(exc)))
    except ParityError as exc:
        return CaseOutcome(error_records(case, str(exc)))
    try:
        actual = candidate.exchange(case, scenario)
        again = reference.again(case, scenario) if endpoint.read_only else None
    except ParityError as exc:
        return CaseOutcome(error_records(case, str(exc)))
    convention = _convention(envelope, reference, candidate)
    # the headers the catalog lists are learned too: what changes between the two reference
    # answers is noise there as well
    noise = (
        learn_noise(answer_of(first), answer_of(again), headers=convention.get("headers"))
        if again is not None
        else None
    )
    rules = Rules.from_lists(endpoint.noise.ignore, endpoint.noise.unordered)
    comparison = compare(
        answer_of(first),
        answer_of(actual),
        rules=rules,
        noise=noise,
        values=reference.live,
        cors=_cors_compared(scenario, convention.get("headers")),
        **convention,
    )
    # A declared-noise value is not compared; whether it is one the scenario had before is
    # (a deleted id given to the next create on one side only). Live answers only (a
    # recording's ids are stand-ins); a path that already differs is explained there.
    if reference.live and first.json is not None and actual.json is not None:
        comparison.envelope += provenance_differences(
            first.json,
            actual.json,
            first.saved,
            actual.saved,
            rules,
            exclude=list(scenario.creates.save) if scenario.creates is not None else (),
            differing={d.path for d in comparison.envelope},
        )
    # Learned noise under a declared rule is the rule's business: list it once, as declared.
    comparison.noise = [
        n for n in comparison.noise if n.source == "declared" or not _declared(rules, n.path)
    ]
    baseline = baseline or Baseline()
    reasons = {e.id: e.reason for e in baseline.entries}
    evidence_base: dict[str, Any] = {
        "request": _request(first),
        "responses": {reference.name: _response(first), candidate.name: _response(actual)},
        "reference": reference.name,
        "reference_source": "live" if reference.live else "cassette",
        "candidate": candidate.name,
        # the candidate's answer is the declared gateway's own (envelope.gateway): judged
        # here, where the catalog is at hand, for readers of the record (the baseline)
        "candidate_gateway": bool(convention.get("gateway", no_gateway)(answer_of(actual).body)),
        "noise": [n.to_dict() for n in comparison.noise],
    }
    if again is not None:
        evidence_base["reference_again"] = {"status": again.status}
    teardown = first.teardown_errors + actual.teardown_errors
    if again is not None:
        teardown += again.teardown_errors
    if teardown:
        evidence_base["teardown_errors"] = teardown
    # Redacted once for the three records, which share it (redact makes a fresh copy, and
    # records are not changed after they are made): redacting each record's copy was most
    # of the engine's own time after the diff.
    shared = redact(evidence_base)
    records: list[CheckResult] = []
    for check, diffs in comparison.by_check().items():
        used = baseline.apply(endpoint.key, check, diffs, status=actual.status, today=today)
        state = _state(check, diffs)
        open_ = [d for d in diffs if d.accepted_by is None] or diffs
        worst = worst_severity(open_)
        origin_ = next((d.origin for d in open_ if d.severity == worst), None)
        evidence = {**shared, "differences": redact([d.to_dict() for d in diffs])}
        if used:
            evidence[BASELINE_KEY] = redact(used)
        records.append(
            CheckResult(
                endpoint=endpoint.key,
                check=check,
                state=state,
                summary=_summary(check, state, diffs, reasons),
                scenario=case.scenario.name,
                origin=origin_ if state != "pass" else None,
                severity=worst if state != "pass" else None,
                evidence=evidence,
            )
        )
    return CaseOutcome(records, comparison.noise)


def _convention(envelope: Envelope | Literal["catalog"] | None, *sources: Source) -> dict[str, Any]:
    """``compare``'s text and gateway rules from the API's envelope (none declared: no
    text paths, no gateway, and CORS headers are the application's)."""
    declared: Envelope | None
    catalogs = [c for c in (getattr(s, "catalog", None) for s in sources) if c is not None]
    if isinstance(envelope, str):
        if not catalogs:
            return {}  # fakes and recordings only: the built-in rules
        declared = catalogs[0].envelope
    else:
        declared = envelope
    spec = catalogs[0].checks.headers if catalogs else None  # checks.headers: more compared
    return {
        "text": text_paths(declared),
        "gateway": gateway_predicate(declared),
        # no gateway declared: nothing in front answers CORS for the application
        "cors_gateway": declared is not None and declared.gateway is not None,
        "headers": spec.rules() if spec is not None else None,
    }


def _cors_compared(scenario: Scenario, headers: HeaderRules | None) -> bool:
    """Whether the CORS headers are compared: the request carries an Origin, or the catalog
    compares them on every answer (``checks.headers.cors_without_origin``)."""
    if headers is not None and headers.cors_without_origin:
        return True
    return any(k.lower() == "origin" for k in scenario.headers)


def _declared(rules: Rules, path: str) -> bool:
    if path == "status" or path.startswith("header "):
        return False
    try:
        parts = PathPattern.parse(path).parts
    except ValueError:
        return False
    return rules.ignores(parts) is not None


def error_records(case: Case, reason: str, checks: tuple[str, ...] = CHECKS) -> list[CheckResult]:
    """``error`` for every check of ``case``: the run could not judge it."""
    line = " ".join(reason.split())
    return [
        CheckResult(
            endpoint=case.endpoint.key,
            check=check,
            state="error",
            summary=line,
            scenario=case.scenario.name,
            evidence={"error": reason},
        )
        for check in checks
    ]


def not_testable_records(
    case: Case, reason: str, checks: tuple[str, ...] = CHECKS, state: State = "not-testable"
) -> list[CheckResult]:
    return [
        CheckResult(
            endpoint=case.endpoint.key,
            check=check,
            state=state,
            summary=reason,
            scenario=case.scenario.name,
        )
        for check in checks
    ]
