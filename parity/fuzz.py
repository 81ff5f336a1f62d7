"""Differential fuzzing: generated query parameters sent to both backends, the answers
compared by the same engine as the catalog scenarios (:func:`parity.differential.run_case`).

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
import shlex
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from parity.baseline import Baseline
from parity.catalog import Case, Catalog, Endpoint
from parity.client import BackendClient
from parity.differential import FAILING_STATES, LiveSource, Source, run_case
from parity.results import CheckResult, State

__all__ = [
    "EDGE_INTEGERS",
    "EDGE_STRINGS",
    "FUZZ_CHECK",
    "FuzzOutcome",
    "curl_line",
    "fuzz_case",
    "fuzz_targets",
    "query_strategy",
]

FUZZ_CHECK = "fuzz"

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
    client: BackendClient, method: str, path: str, query: dict[str, Any], role: str
) -> str:
    """A shell line reproducing the request (the token is a variable, never the secret)."""
    url = httpx.URL(client.base_url + path, params={k: str(v) for k, v in query.items()})
    parts = ["curl", "-sS", "-i", "-X", method, str(url)]
    if role != "anonymous":
        var = f"PARITY_TOKEN_{role.upper()}"
        return " ".join(shlex.quote(p) for p in parts) + f' -H "Authorization: Bearer ${var}"'
    return " ".join(shlex.quote(p) for p in parts)


@dataclass
class FuzzOutcome:
    record: CheckResult
    examples: int
    minimal: dict[str, Any] | None = None
    failing: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.record.state in FAILING_STATES


def _rank(state: State) -> int:
    return {"error": 3, "missing": 2, "drift": 1}.get(state, 0)


def fuzz_case(
    case: Case,
    reference: LiveSource,
    candidate: LiveSource,
    *,
    max_examples: int = 40,
    random_seed: int = 0,
    deadline: float | None = None,
    database: Path | None = None,
    baseline: Baseline | None = None,
    today: date | None = None,
) -> FuzzOutcome:
    """Fuzz ``case``'s query against both sources; one ``fuzz`` record with the minimal
    differing query, or ``pass``. ``deadline`` is a ``time.monotonic()`` value."""
    endpoint = case.endpoint
    sent = 0
    found: list[tuple[dict[str, Any], list[CheckResult]]] = []

    def probe(query: dict[str, Any]) -> None:
        nonlocal sent
        if not found and deadline is not None and time.monotonic() > deadline:
            return  # the budget is spent: nothing more is sent
        scenario = case.scenario.model_copy(update={"query": query})
        sent += 1
        # LiveSource.name is a read-only property; the Protocol declares a plain attribute.
        outcome = run_case(
            Case(endpoint, scenario),
            cast(Source, reference),
            cast(Source, candidate),
            baseline=baseline,
            today=today,
        )
        failed = outcome.failed
        if failed:
            found.append((query, failed))
            summary = "; ".join(f"{r.check}: {r.summary}" for r in failed)
            raise AssertionError(f"{endpoint.key} {query!r}: {summary}")

    db = DirectoryBasedExampleDatabase(str(database / endpoint.id)) if database else None
    runner = settings(
        max_examples=max_examples,
        database=db,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        print_blob=False,
    )(seed(random_seed)(given(query_strategy(endpoint))(probe)))
    with contextlib.suppress(AssertionError):  # the failure is in ``found``
        runner()
    if not found:
        record = CheckResult(
            endpoint=endpoint.key,
            check=FUZZ_CHECK,
            state="pass",
            summary=f"{sent} generated request(s) answered alike",
            scenario="generated",
            evidence={"examples": sent, "base_scenario": case.scenario.name},
        )
        return FuzzOutcome(record, sent)
    # The last failure is Hypothesis' final replay: the minimal example.
    query, failed = found[-1]
    worst = max(failed, key=lambda r: _rank(r.state))
    role = case.scenario.role
    curls = {
        src.name: curl_line(src.client, endpoint.method, endpoint.route, query, role)
        for src in (reference, candidate)
    }
    reason = "; ".join(f"{r.check}: {r.summary}" for r in failed)
    evidence: dict[str, Any] = {
        "query": query,
        "curl": curls,
        "examples": sent,
        "base_scenario": case.scenario.name,
        "findings": [r.to_dict() for r in failed],
    }
    evidence.update({k: v for k, v in worst.evidence.items() if k in ("request", "responses")})
    record = CheckResult(
        endpoint=endpoint.key,
        check=FUZZ_CHECK,
        state=worst.state,
        summary=f"minimal input {query!r} -> {reason} (reproduce: {curls[candidate.name]})",
        scenario="generated",
        origin=worst.origin,
        severity=worst.severity,
        evidence=evidence,
    )
    return FuzzOutcome(record, sent, query, failed)
