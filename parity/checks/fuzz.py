"""Differential fuzzing: generated query parameters and JSON bodies sent to both backends,
the answers compared by the same engine as the catalog scenarios
(:func:`parity.engine.differential.run_case`). Bodies come from :mod:`parity.checks.fuzzbody`.

What is fuzzed comes from the catalog: every read-only endpoint without route parameters
that has a plain 2xx scenario (no setup) and query parameters somewhere in its scenarios.
Each known parameter gets a strategy typed from the values the catalog sends (integers:
pagination edges and wrong types; strings: the catalog's values, unicode with emoji, very
long strings), plus unknown parameters. A difference (any failing state) is shrunk by
Hypothesis to a minimal query, saved in Hypothesis' example database (so the next run
replays it first) and reported as one ``fuzz`` record carrying a reproducing curl line per
backend.

Runs are deterministic (a fixed seed, 0 unless told): the same catalog, backends and example
database generate the same inputs, so CI does not flake. A wall-clock budget bounds them:
once it is spent, the remaining examples are not sent (a difference already found is still
shrunk).
"""

from __future__ import annotations

import contextlib
import json
import shlex
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from parity.core.catalog import Case, Catalog, Endpoint
from parity.core.config import role_env_key
from parity.core.results import CheckResult, State, describe
from parity.engine.baseline import Baseline
from parity.engine.client import BackendClient
from parity.engine.differential import FAILING_STATES, LiveSource, Source, run_case

__all__ = [
    "EDGE_INTEGERS",
    "EDGE_STRINGS",
    "FUZZ_CHECK",
    "FuzzKind",
    "FuzzOutcome",
    "SingleOutcome",
    "curl_line",
    "describe",
    "fuzz_case",
    "fuzz_targets",
    "query_strategy",
    "same_failure",
]

FUZZ_CHECK = "fuzz"
#: What a fuzz run generates: the query string or the JSON body of the base scenario.
FuzzKind = Literal["query", "body"]

#: Integers around the usual pagination bounds, and beyond what a 32-bit int holds.
EDGE_INTEGERS = (-1, 0, 1, 2, 99, 100, 101, 1000, 2**31)
#: Strings every text parameter is tried with (emoji, accents, long, empty, quoting).
EDGE_STRINGS = (
    "",
    " ",
    "castle",
    "🧱",
    "castle 🏰",
    "😀😀",
    "👍🏽 ok",
    "Zürich",
    "日本",
    "a" * 300,
    "x" * 2000,
    "' OR 1=1 --",
    "%",
    "_",
)
#: Integer-typed parameters are also sent these wrong types.
WRONG_NUMBERS = ("abc", "1.5", "-0", "1e3", "", " 7")
UNKNOWN_KEYS = ("unknownField", "foo[bar]", "__proto__", "debug")

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=24)


def _types(endpoint: Endpoint) -> dict[str, set[type]]:
    found: dict[str, set[type]] = {}
    for scenario in endpoint.scenarios:
        for key, value in scenario.query.items():
            for v in value if isinstance(value, list) else [value]:
                found.setdefault(key, set()).add(type(v))
    return found


def _values(endpoint: Endpoint, key: str) -> list[Any]:
    seen: list[Any] = []
    for scenario in endpoint.scenarios:
        value = scenario.query.get(key)
        if isinstance(value, str | int) and "{" not in str(value) and value not in seen:
            seen.append(value)
    return seen


def query_strategy(endpoint: Endpoint) -> st.SearchStrategy[dict[str, Any]]:
    """Query dicts for ``endpoint``: its known parameters (optional unless every 2xx
    scenario sends it) and unknown ones."""
    optional: dict[str, st.SearchStrategy[Any]] = {}
    successes = [s for s in endpoint.scenarios if all(200 <= x < 300 for x in s.expect)]
    required = {k for k in _types(endpoint) if successes and all(k in s.query for s in successes)}
    for key, kinds in sorted(_types(endpoint).items()):
        known = _values(endpoint, key)
        if kinds <= {int}:
            optional[key] = st.one_of(
                st.sampled_from(EDGE_INTEGERS),
                st.integers(min_value=-5, max_value=200),
                st.sampled_from(WRONG_NUMBERS),
            )
        elif kinds <= {str}:
            options = [st.sampled_from(EDGE_STRINGS), _TEXT]
            if known:
                options.insert(0, st.sampled_from(known))
            optional[key] = st.one_of(*options)
        else:
            optional[key] = st.one_of(st.sampled_from(EDGE_STRINGS), st.sampled_from(known))
    for key in UNKNOWN_KEYS:
        optional.setdefault(key, st.one_of(st.sampled_from(("1", "true", "x")), _TEXT))
    # A parameter every 2xx scenario sends (a search term) is always sent: its values are
    # what is worth varying, its absence is a catalog scenario already.
    always = {k: optional.pop(k) for k in sorted(required)}
    return st.fixed_dictionaries(always, optional=optional)


def fuzz_targets(catalog: Catalog) -> list[Case]:
    """The catalog cases generated queries are based on: one per fuzzable endpoint."""
    cases: list[Case] = []
    for endpoint in catalog.endpoints:
        if not endpoint.read_only or endpoint.route_params or not _types(endpoint):
            continue
        base = next(
            (
                s
                for s in endpoint.scenarios
                if all(200 <= x < 300 for x in s.expect)
                and not (s.uses or s.steps or s.creates)
                and not any(k.lower() == "authorization" for k in s.headers)
            ),
            None,
        )
        if base is not None:
            cases.append(Case(endpoint, base))
    return cases


def curl_line(
    client: BackendClient,
    method: str,
    path: str,
    query: dict[str, Any],
    role: str,
    body: Any = None,
    *,
    has_body: bool = False,
) -> str:
    """A shell line reproducing the request (the token is a variable, never the secret);
    ``has_body`` sends ``body`` as JSON. ``path`` is a route path or the path as sent (which
    already holds the base URL's own path, ``/api`` of ``https://host/api``: not doubled);
    the auth header is the backend's own (its header name and template)."""
    base = httpx.URL(client.base_url)
    prefix = base.path.rstrip("/")
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :]
    url = httpx.URL(client.base_url + path, params={k: str(v) for k, v in query.items()})
    parts = ["curl", "-sS", "-i", "-X", method, str(url)]
    if has_body:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        parts += ["-H", "Content-Type: application/json", "--data-raw", data]
    line = " ".join(shlex.quote(p) for p in parts)
    if role != "anonymous" and client.auth.mode != "none":
        var = f"PARITY_TOKEN_{role_env_key(role)}"
        auth = client.auth.settings
        value = auth.template.replace("{token}", f"${var}")
        return line + f' -H "{auth.header}: {value}"'
    return line


@dataclass
class FuzzOutcome:
    record: CheckResult
    examples: int
    minimal: dict[str, Any] | None = None
    failing: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.record.state in FAILING_STATES


@dataclass(frozen=True)
class SingleOutcome:
    """What one backend made of one generated request under a single-backend tool
    (Schemathesis): its status and the checks its answer failed (none: passed)."""

    status: int
    failed: frozenset[str] = frozenset()


def same_failure(own: SingleOutcome, other: SingleOutcome) -> bool:
    """Whether the other backend failed the same generated request alike: a status of the
    same class and every check ``own`` failed failed there too. Then the failure is no
    difference of the pair (both servers crash on a non-latin-1 ETag alike): reported as
    information, never a failing cell. A fuzz failure is a finding only where the other
    backend answered the same case differently."""
    return (
        bool(own.failed) and own.status // 100 == other.status // 100 and own.failed <= other.failed
    )


def _rank(state: State) -> int:
    return {"error": 3, "missing": 2, "drift": 1}.get(state, 0)


def _teardown_errors(records: list[CheckResult]) -> list[str]:
    for record in records:
        errors = record.evidence.get("teardown_errors")
        if errors:
            return [str(e) for e in errors]
    return []


def _accepted(records: list[CheckResult], reference: str) -> int:
    """1 when the reference answered 2xx (for a write: the generated input was applied)."""
    for record in records:
        status = ((record.evidence.get("responses") or {}).get(reference) or {}).get("status")
        if isinstance(status, int):
            return int(200 <= status < 300)
    return 0


def _sent_body(records: list[CheckResult], fallback: Any) -> Any:
    """The body as sent (placeholders filled in), from the run's evidence."""
    for record in records:
        raw = (record.evidence.get("request") or {}).get("body")
        if isinstance(raw, str):
            try:
                return json.loads(raw)
            except ValueError:
                return raw
    return fallback


def fuzz_case(
    case: Case,
    reference: LiveSource,
    candidate: LiveSource,
    *,
    kind: FuzzKind = "query",
    strategy: st.SearchStrategy[dict[str, Any]] | None = None,
    max_examples: int = 40,
    random_seed: int = 0,
    deadline: float | None = None,
    database: Path | None = None,
    baseline: Baseline | None = None,
    today: date | None = None,
) -> FuzzOutcome:
    """Fuzz ``case``'s query (``kind="query"``) or JSON body (``kind="body"``, values from
    ``strategy``, e.g. :func:`parity.checks.fuzzbody.body_strategy`) against both sources; one
    ``fuzz`` record with the minimal differing input, or ``pass``. ``deadline`` is a
    ``time.monotonic()`` value.

    A write's resources are deleted by the base scenario's ``creates:``/``uses:`` on each
    backend after every example; a delete that fails makes the record ``error``."""
    endpoint = case.endpoint
    if strategy is None:
        if kind != "query":
            raise ValueError("body fuzzing needs a strategy (parity.checks.fuzzbody.body_strategy)")
        strategy = query_strategy(endpoint)
    field_name = "query" if kind == "query" else "json_body"
    sent = accepted = 0
    found: list[tuple[dict[str, Any], list[CheckResult]]] = []
    leftovers: list[str] = []

    def probe(generated: dict[str, Any]) -> None:
        nonlocal sent, accepted
        if not found and deadline is not None and time.monotonic() > deadline:
            return  # the budget is spent: nothing more is sent
        scenario = case.scenario.model_copy(update={field_name: generated})
        sent += 1
        # LiveSource.name is a read-only property; the Protocol declares a plain attribute.
        outcome = run_case(
            Case(endpoint, scenario),
            cast(Source, reference),
            cast(Source, candidate),
            baseline=baseline,
            today=today,
        )
        leftovers.extend(_teardown_errors(outcome.records))
        accepted += _accepted(outcome.records, reference.name)
        failed = outcome.failed
        if failed:
            found.append((generated, failed))
            summary = "; ".join(f"{r.check}: {r.summary}" for r in failed)
            raise AssertionError(f"{endpoint.key} {generated!r}: {summary}")

    key = endpoint.id if kind == "query" else f"{endpoint.id}.body"
    db = DirectoryBasedExampleDatabase(str(database / key)) if database else None
    runner = settings(
        max_examples=max_examples,
        database=db,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        print_blob=False,
    )(seed(random_seed)(given(strategy)(probe)))
    with contextlib.suppress(AssertionError):  # the failure is in ``found``
        runner()
    label = "request(s)" if kind == "query" else "body(ies)"
    base_evidence: dict[str, Any] = {
        "examples": sent,
        "accepted": accepted,
        "base_scenario": case.scenario.name,
        "generated": kind,
    }
    if not found:
        if leftovers:
            record = CheckResult(
                endpoint=endpoint.key,
                check=FUZZ_CHECK,
                state="error",
                summary=f"generated {kind}s left data behind: {leftovers[0]}",
                scenario="generated",
                evidence={**base_evidence, "teardown_errors": leftovers[:20]},
            )
            return FuzzOutcome(record, sent)
        record = CheckResult(
            endpoint=endpoint.key,
            check=FUZZ_CHECK,
            state="pass",
            summary=f"{sent} generated {label} answered alike "
            f"({accepted} accepted by {reference.name})",
            scenario="generated",
            evidence=base_evidence,
        )
        return FuzzOutcome(record, sent)
    # The last failure is Hypothesis' final replay: the minimal example.
    generated, failed = found[-1]
    worst = max(failed, key=lambda r: _rank(r.state))
    role = case.scenario.role
    evidence: dict[str, Any] = {**base_evidence, kind: generated}
    if kind == "query":
        shown = generated
        curls = {
            src.name: curl_line(src.client, endpoint.method, endpoint.route, generated, role)
            for src in (reference, candidate)
        }
    else:
        # The body as sent, and the path as sent (its ids are the example's own resources,
        # created by the base scenario's setup and deleted after it).
        shown = _sent_body(failed, generated)
        path = (worst.evidence.get("request") or {}).get("path") or endpoint.route
        evidence["body"] = shown
        evidence["setup"] = list(case.scenario.uses)
        curls = {
            src.name: curl_line(src.client, endpoint.method, path, {}, role, shown, has_body=True)
            for src in (reference, candidate)
        }
    reason = "; ".join(f"{r.check}: {r.summary}" for r in failed)
    evidence.update(
        {"curl": curls, "findings": [r.to_dict() for r in failed]},
    )
    if leftovers:
        evidence["teardown_errors"] = leftovers[:20]
    evidence.update({k: v for k, v in worst.evidence.items() if k in ("request", "responses")})
    record = CheckResult(
        endpoint=endpoint.key,
        check=FUZZ_CHECK,
        state=worst.state,
        summary=f"minimal {kind} {describe(shown)} -> {reason} "
        f"(reproduce: {curls[candidate.name]})",
        scenario="generated",
        origin=worst.origin,
        severity=worst.severity,
        evidence=evidence,
    )
    return FuzzOutcome(record, sent, generated, failed)
