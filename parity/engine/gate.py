"""The rollout gate: go / no-go for one stage (10, 25, 50, 100 %) from the latest results.

Inputs (under the reports directory, ``--reports-dir`` / ``PARITY_REPORTS_DIR``: the latest
run's folder, ``latest.json``, and the directory itself for what is not there):

- ``parity-matrix.json``: the parity matrix of the latest run (``pytest -m parity`` or
  ``parity demo``), with its findings (the differences grouped by cause);
- the **smoke results**: the matrix cells of the endpoints tagged ``smoke`` in the catalog
  (``fixtures/catalog.yaml``). The smoke checks are the endpoints the frontend cannot live
  without; judging their cells (rather than a JUnit file) ties the verdict to the endpoint
  and check that failed, and works the same for a serial or a pytest-xdist run;
- ``load-serverless.json`` (required) and ``load-express.json`` (shown for reference): the
  figures ``parity load`` wrote.

Criteria (each with its figure and threshold, in this order):

1. every input is present, readable and younger than ``max_age_hours``, and the load
   figures belong to the matrix's run (:mod:`parity.engine.findings_load`: made after the run
   started, with the same settings for both backends, against the same hosts);
2. no unaccepted breaking drift (a ``drift``/``missing``/``error`` cell whose severity is
   ``breaking`` or unknown) on a smoke endpoint; from 100 % on, any failing cell on any
   endpoint blocks (``block_any_drift``). The verdict names the *findings* those cells
   belong to ("2 blocking finding(s) in 7 cell(s)"), each with its cells, since one cause
   usually fails many cells; and every smoke endpoint **judged**: it has
   records for its catalog scenarios and each is a verdict (``pass``/``accepted``/failing).
   A smoke endpoint with a skipped or not-testable scenario record (writes refused on
   production, say) is a no-go naming it, the scenarios and why, never "checked"; so is a
   catalog with no smoke endpoint (0/0 judged proves nothing). A failed test the matrix
   has no cell for (``summary.failed_outside``) blocks too: it cannot be placed;
3. the serverless error rate is under ``max_error_rate`` (2 %; 1 % at 100 %). One rate
   over the whole load run: that is how the plan's "sustained" is read (see
   docs/rollout-runbook.md). A run with fewer than ``min_requests`` requests (100) fails
   this criterion: too little evidence is treated like a missing input. Above that, when
   the run is still too short to tell its rate from the threshold (the threshold lies
   inside the rate's 3-sigma range), the criterion says so in its detail and the verdict
   follows the measured rate;
4. the serverless p95 is under ``p95_ms_na`` (600 ms) or ``p95_ms_eu`` (900 ms),
   whichever region the target is in (``region``); 500/800 ms at 100 %.

A missing or stale input is a no-go naming it, never a pass. :func:`evaluate` is a pure
function of its inputs (and ``now``); :func:`run_gate` gathers them from disk.

Thresholds come from ``parity.toml``::

    [gate]
    region = "na"            # or "eu"
    max_age_hours = 24
    max_error_rate = 0.02
    p95_ms_na = 600
    p95_ms_eu = 900
    block_any_drift = false
    min_requests = 100       # fewer load requests: no-go (too little to judge a rate)

    [gate.stage.100]         # any key of [gate], for one stage only
    max_error_rate = 0.01
    p95_ms_na = 500
    p95_ms_eu = 800
    block_any_drift = true
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from parity.core.config import STAGES
from parity.core.errors import ConfigError
from parity.core.timestamps import parse_timestamp
from parity.engine.findings import build_findings, findings_line, findings_summary
from parity.engine.findings_load import load_problems
from parity.engine.runs import latest_run

__all__ = [
    "REGIONS",
    "Criterion",
    "GateInputs",
    "Thresholds",
    "Verdict",
    "evaluate",
    "gather_inputs",
    "not_judged",
    "rate_range",
    "render_markdown",
    "run_gate",
    "thresholds_for",
]

REGIONS = ("na", "eu")
BLOCKING_STATES = frozenset({"drift", "missing", "error"})


@dataclass(frozen=True)
class Thresholds:
    """Per-stage limits. Defaults follow the migration plan's CloudWatch alarms."""

    region: str = "na"
    max_age_hours: float = 24.0
    max_error_rate: float = 0.02
    p95_ms_na: float = 600.0
    p95_ms_eu: float = 900.0
    block_any_drift: bool = False
    #: Fewer load requests than this cannot show a "sustained" rate: a no-go, like a
    #: missing input (a 20-request run with 0 errors proves nothing about 2 %).
    min_requests: int = 100

    @property
    def p95_ms(self) -> float:
        return self.p95_ms_eu if self.region == "eu" else self.p95_ms_na


#: Stricter at full rollout: there is no Express left to fall back to by weight.
STAGE_DEFAULTS: dict[int, dict[str, Any]] = {
    100: {"max_error_rate": 0.01, "p95_ms_na": 500.0, "p95_ms_eu": 800.0, "block_any_drift": True}
}
_KEYS = {f.name for f in fields(Thresholds)}


def _apply(base: Thresholds, table: Mapping[str, Any], where: str, path: Path | None) -> Thresholds:
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key not in _KEYS:
            raise ConfigError(
                f"unknown key {key!r}",
                path=path,
                location=f"key {where}.{key}",
                hint=f"Known keys: {', '.join(sorted(_KEYS))}",
            )
        if key == "region":
            if str(value).lower() not in REGIONS:
                raise ConfigError(
                    f"invalid region {value!r}",
                    path=path,
                    location=f"key {where}.region",
                    hint="Use na or eu",
                )
            changes[key] = str(value).lower()
        elif key == "block_any_drift":
            if not isinstance(value, bool):
                raise ConfigError(
                    "not a boolean",
                    path=path,
                    location=f"key {where}.{key}",
                    hint="Use true or false",
                )
            changes[key] = value
        else:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(
                    f"not a number >= 0 (got {value!r})",
                    path=path,
                    location=f"key {where}.{key}",
                    hint="Use a number such as 0.02 or 600",
                )
            changes[key] = int(value) if key == "min_requests" else float(value)
    return replace(base, **changes)


def thresholds_for(
    stage: int, gate_table: Mapping[str, Any] | None = None, path: Path | None = None
) -> Thresholds:
    """Defaults, then the stage's defaults, then ``[gate]``, then ``[gate.stage.<N>]``."""
    if stage not in STAGES:
        raise ConfigError(
            f"invalid rollout stage {stage!r}",
            location="--stage",
            hint="Use one of 10, 25, 50, 100",
        )
    table = dict(gate_table or {})
    stages = table.pop("stage", {})
    if not isinstance(stages, Mapping):
        raise ConfigError(
            "expected a table",
            path=path,
            location="key gate.stage",
            hint="Write it as [gate.stage.100]",
        )
    for key in stages:
        if str(key) not in {str(s) for s in STAGES}:
            raise ConfigError(
                f"unknown stage {key!r}",
                path=path,
                location=f"key gate.stage.{key}",
                hint="Use one of 10, 25, 50, 100",
            )
    result = _apply(Thresholds(), STAGE_DEFAULTS.get(stage, {}), "defaults", None)
    result = _apply(result, table, "gate", path)
    return _apply(result, stages.get(str(stage), {}), f"gate.stage.{stage}", path)


#: The command that makes each input, named in a no-go that lacks it.
MAKES: Mapping[str, str] = {
    "parity-matrix.json": 'run `pytest api_checks contracts -m "smoke or parity or contract"`',
    "load-serverless.json": "run `parity load`",
}


def read_gate_table(config_path: Path | None) -> dict[str, Any]:
    """The ``[gate]`` table of parity.toml (empty when there is no file or no table)."""
    if config_path is None or not config_path.is_file():
        return {}
    with config_path.open("rb") as fh:
        doc = tomllib.load(fh)
    table = doc.get("gate", {})
    if not isinstance(table, dict):
        raise ConfigError(
            "expected a table", path=config_path, location="key gate", hint="Write it as [gate]"
        )
    return table


# --- inputs and verdict ----------------------------------------------------------------


@dataclass(frozen=True)
class GateInputs:
    """What the gate judges. ``None`` documents mean the file was missing or unreadable;
    ``problems`` says why (keyed by input name)."""

    matrix: Mapping[str, Any] | None
    smoke_endpoints: frozenset[str]
    load: Mapping[str, Mapping[str, Any] | None]  # backend -> load document
    problems: Mapping[str, str] = field(default_factory=dict)
    #: The catalog's scenario names of each smoke endpoint: only their records decide
    #: whether the endpoint was judged (a check family's own variants, e.g. the fault
    #: header's "500-fault", never testable on production, neither judge nor block it).
    #: An endpoint missing here: every record of it counts.
    smoke_scenarios: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Criterion:
    name: str
    ok: bool
    figure: str
    threshold: str
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    stage: int
    go: bool
    criteria: tuple[Criterion, ...]
    thresholds: Thresholds
    load_figures: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    #: The matrix's findings (the differences grouped by cause), the worst first.
    findings: Sequence[Mapping[str, Any]] = ()

    @property
    def findings_line(self) -> str:
        """``3 findings (2 breaking, 1 additive); 2 accepted``."""
        return findings_line(findings_summary(self.findings))

    @property
    def failed(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.ok)

    @property
    def exit_code(self) -> int:
        return 0 if self.go else 1


#: A record in one of these states is a verdict on the endpoint; anything else
#: (``skipped``, ``not-testable``, ``not-applicable``, an unknown state) judged nothing.
JUDGED_STATES = frozenset({"pass", "accepted"}) | BLOCKING_STATES
#: A check family that has nothing to judge on an endpoint (the catalog does not describe
#: what it needs) neither judges it nor holds it back: the endpoint needs a verdict from
#: another record. Skipped and not-testable records do hold it back.
NEUTRAL_STATES = frozenset({"not-applicable"})


def matrix_findings(matrix: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The matrix's findings; rebuilt from its cells when it has none (an older file)."""
    if not matrix:
        return []
    found = matrix.get("findings")
    if isinstance(found, list):
        return [f for f in found if isinstance(f, Mapping)]
    cells = [c for c in matrix.get("cells", []) if isinstance(c, Mapping)]
    return list(build_findings(cells))


def _records(cell: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The records of ``cell``; the cell itself when it lists none."""
    return list(cell.get("records") or [cell])


def not_judged(
    cells: Sequence[Mapping[str, Any]],
    endpoints: frozenset[str],
    scenarios: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, str]:
    """The endpoints of ``endpoints`` the matrix did not judge, each with why.

    An endpoint is judged when it has records for its catalog scenarios (``scenarios``;
    any record when not given), at least one a verdict and every other ``not-applicable``
    at most. One skipped or not-testable record (the success scenario refused on production
    while its 404 and 400 scenarios ran, or one backend skipped) leaves it not judged: the
    gate says which scenarios and why rather than count the endpoint as checked.
    """
    by_endpoint: dict[str, list[Mapping[str, Any]]] = {}
    for cell in cells:
        by_endpoint.setdefault(str(cell.get("endpoint")), []).extend(_records(cell))
    out: dict[str, str] = {}
    for endpoint in endpoints:
        named = (scenarios or {}).get(endpoint)
        mine = [
            r for r in by_endpoint.get(endpoint, []) if named is None or r.get("scenario") in named
        ]
        if not mine:
            out[endpoint] = "not in the matrix"
            continue
        unjudged = [r for r in mine if r.get("state") not in JUDGED_STATES | NEUTRAL_STATES]
        verdicts = [r for r in mine if r.get("state") in JUDGED_STATES]
        if verdicts and not unjudged:
            continue
        unjudged = unjudged or [r for r in mine if r.get("state") not in JUDGED_STATES]
        first = unjudged[0]
        state, why = str(first.get("state")), str(first.get("summary") or "")
        reason = f"{state}: {why}" if why and why != state else state
        reason = reason if len(reason) <= 200 else reason[:197] + "..."
        which = sorted({str(r.get("scenario") or "-") for r in unjudged})
        out[endpoint] = (
            f"{reason}; {len(unjudged)} of {len(mine)} record(s) not judged, "
            f"scenario(s) {', '.join(which)}"
        )
    return out


def _age_problem(doc: Mapping[str, Any], limit_h: float, now: datetime) -> str | None:
    when = parse_timestamp(doc.get("generated_at"))
    if when is None:
        return "has no valid generated_at timestamp"
    age_h = (now - when).total_seconds() / 3600
    if age_h > limit_h:
        return f"is stale: {age_h:.1f} h old (limit {limit_h:g} h)"
    if age_h < -0.1:
        return f"is dated in the future ({when.isoformat()})"
    return None


def rate_range(failures: int, requests: int, sigmas: float = 3.0) -> tuple[float, float]:
    """Where the true error rate plausibly lies, given ``failures`` of ``requests``: the
    Wilson score interval (unlike rate +- k standard errors it is not empty at 0 failures,
    where a short clean run proves little)."""
    if requests <= 0:
        return 0.0, 1.0
    n, z2 = float(requests), sigmas * sigmas
    p = min(max(failures / n, 0.0), 1.0)
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = sigmas * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _resolution(failures: int, requests: int, threshold: float) -> str:
    low, high = rate_range(failures, requests)
    if not low < threshold < high:
        return ""
    return (
        f"{requests} requests are too few to tell this rate from {threshold:.1%} "
        f"(3-sigma range {low:.2%}-{high:.2%}); run longer or with more users"
    )


def evaluate(
    inputs: GateInputs, stage: int, thresholds: Thresholds, now: datetime | None = None
) -> Verdict:
    """Judge ``inputs`` for ``stage``: every criterion, each with its figure and threshold."""
    now = now or datetime.now(UTC)
    criteria: list[Criterion] = []

    # 1. inputs present and fresh
    named: dict[str, Mapping[str, Any] | None] = {
        "parity-matrix.json": inputs.matrix,
        "load-serverless.json": inputs.load.get("serverless"),
    }
    bad: list[str] = []
    for name, doc in named.items():
        if doc is None:
            bad.append(f"{name} {inputs.problems.get(name, 'is missing')} ({MAKES[name]})")
            continue
        age = _age_problem(doc, thresholds.max_age_hours, now)
        if age:
            bad.append(f"{name} {age} ({MAKES[name]})")
    if inputs.matrix is not None and not inputs.smoke_endpoints:
        bad.append("no endpoint is tagged smoke in the catalog")
    for backend, problems in sorted(load_problems(inputs.matrix, inputs.load).items()):
        bad.append(f"load-{backend}.json refused: " + "; ".join(problems))
    criteria.append(
        Criterion(
            "inputs present and fresh",
            not bad,
            "; ".join(bad) if bad else "all present",
            f"younger than {thresholds.max_age_hours:g} h",
        )
    )

    # 2. drift on smoke endpoints (any endpoint when block_any_drift)
    if inputs.matrix is None:
        criteria.append(
            Criterion("no unaccepted breaking drift", False, "no matrix", "0 blocking findings")
        )
    else:
        cells = inputs.matrix.get("cells", [])
        blocking_cells: dict[tuple[str, str], str] = {}
        for cell in cells:
            if cell.get("state") not in BLOCKING_STATES:
                continue
            on_smoke = cell.get("endpoint") in inputs.smoke_endpoints
            breaking = cell.get("severity") in ("breaking", None)
            if thresholds.block_any_drift or (on_smoke and breaking):
                key = (str(cell.get("endpoint")), str(cell.get("check")))
                blocking_cells[key] = f"{key[0]} [{key[1]}: {cell.get('state')}]"
        # Said in findings: one cause usually fails many cells.
        findings = matrix_findings(inputs.matrix)
        blocking: list[str] = []
        placed: set[tuple[str, str]] = set()
        blocking_findings = 0
        for f in findings:
            if f.get("state") != "open":
                continue
            mine = [(c["endpoint"], c["check"]) for c in f.get("cells", [])]
            hit = [k for k in mine if k in blocking_cells and k not in placed]
            if not hit:
                continue
            blocking_findings += 1
            placed.update(hit)
            shown = ", ".join(blocking_cells[k] for k in hit[:5])
            more = f" (+{len(hit) - 5} more)" if len(hit) > 5 else ""
            blocking.append(f"{f['id']} {f.get('severity') or 'unjudged'}: {f['title']}: "
                            f"{shown}{more}")  # fmt: skip
        for key, text in blocking_cells.items():  # a failing cell no finding names
            if key not in placed:
                blocking_findings += 1
                blocking.append(text)
        # A failed test no cell shows cannot be placed on an endpoint: like an unknown
        # severity, it blocks (the matrix headline names it too).
        summary = inputs.matrix.get("summary") or {}
        for entry in summary.get("failed_outside") or []:
            blocking_findings += 1
            blocking.append(f"{entry.get('test')} [failed with no cell]")
        unjudged = not_judged(cells, inputs.smoke_endpoints, inputs.smoke_scenarios)
        judged = len(inputs.smoke_endpoints) - len(unjudged)
        scope = "any endpoint" if thresholds.block_any_drift else "smoke endpoints"
        details = [", ".join(blocking[:10]) + (" ..." if len(blocking) > 10 else "")]
        if unjudged:
            details.append(
                "not judged: " + ", ".join(f"{e} ({why})" for e, why in sorted(unjudged.items()))
            )
        if not inputs.smoke_endpoints:  # "0/0 checked" must never read as a pass
            details.append("no smoke endpoint to judge: tag the critical endpoints smoke")
        outside = len(summary.get("failed_outside") or [])
        criteria.append(
            Criterion(
                f"no unaccepted {'' if thresholds.block_any_drift else 'breaking '}drift ({scope})",
                not blocking and not unjudged and bool(inputs.smoke_endpoints),
                f"{blocking_findings} blocking finding(s) in {len(blocking_cells) + outside} "
                f"cell(s), {judged}/{len(inputs.smoke_endpoints)} smoke endpoints judged",
                "0 blocking findings, every smoke endpoint judged",
                "; ".join(d for d in details if d),
            )
        )

    # 3. and 4. load figures of the serverless backend
    load = inputs.load.get("serverless")
    overall = (load or {}).get("overall") or {}
    rate = overall.get("error_rate")
    requests = overall.get("requests") or 0
    if load is None or rate is None or requests <= 0:
        why = "no load figures" if load is None else "no requests were made"
        criteria.append(Criterion("error rate", False, why, f"< {thresholds.max_error_rate:.1%}"))
    else:
        failures = int(overall.get("failures") or 0)
        enough = int(requests) >= thresholds.min_requests
        detail = _resolution(failures, int(requests), thresholds.max_error_rate)
        if not enough:
            detail = (
                f"only {requests} requests (at least {thresholds.min_requests} needed to judge "
                "a rate: run longer, with more users or --think-time 0; min_requests in "
                "[gate] of parity.toml)"
            )
        criteria.append(
            Criterion(
                "error rate",
                enough and float(rate) < thresholds.max_error_rate,
                f"{float(rate):.2%} ({failures} of {requests} requests)",
                f"< {thresholds.max_error_rate:.1%}, >= {thresholds.min_requests} requests",
                detail,
            )
        )
    p95 = overall.get("p95_ms")
    limit = f"< {thresholds.p95_ms:g} ms ({thresholds.region.upper()})"
    if load is None or p95 is None or requests <= 0:
        criteria.append(Criterion("p95 latency", False, "no load figures", limit))
    else:
        slow = [
            f"{e.get('name')} {e.get('p95_ms')} ms"
            for e in load.get("endpoints", [])
            if (e.get("p95_ms") or 0) >= thresholds.p95_ms
        ]
        criteria.append(
            Criterion(
                "p95 latency",
                float(p95) < thresholds.p95_ms,
                f"{float(p95):g} ms",
                limit,
                ("slowest over the limit: " + ", ".join(slow[:5])) if slow else "",
            )
        )
    go = all(c.ok for c in criteria)
    findings = matrix_findings(inputs.matrix) if inputs.matrix is not None else []
    return Verdict(stage, go, tuple(criteria), thresholds, dict(inputs.load), findings)


def render_markdown(verdict: Verdict) -> str:
    """``gate-<stage>.md``: the verdict first, then each criterion with figure and threshold."""
    t = verdict.thresholds
    word = "GO" if verdict.go else "NO-GO"
    lines = [f"# Rollout gate, stage {verdict.stage}%: **{word}**", ""]
    if verdict.failed:
        lines.append("Failed: " + "; ".join(f"{c.name} ({c.figure})" for c in verdict.failed))
    else:
        lines.append("Every criterion holds.")
    if verdict.findings:
        lines += ["", f"Findings: {verdict.findings_line}."]
    lines += ["", "| criterion | result | figure | threshold |", "| --- | --- | --- | --- |"]
    for c in verdict.criteria:
        cell = c.figure.replace("|", "\\|")
        lines.append(f"| {c.name} | {'pass' if c.ok else 'FAIL'} | {cell} | {c.threshold} |")
    details = [c for c in verdict.criteria if c.detail]
    if details:
        lines += ["", "## Details", ""]
        lines += [f"- **{c.name}**: {c.detail}" for c in details]
    open_ = [f for f in verdict.findings if f.get("state") == "open"]
    if open_:
        lines += ["", "## Findings", "",
                  "| finding | severity | what | endpoints | cells | what to do |",
                  "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for f in open_[:30]:
            what = str(f.get("title", "")).replace("|", "\\|")
            todo = str(f.get("action", "")).replace("|", "\\|")
            lines.append(
                f"| {f.get('id')} | {f.get('severity') or 'unjudged'} | {what} | "
                f"{len(f.get('endpoints', []))} | {len(f.get('cells', []))} | {todo} |"
            )
        if len(open_) > 30:
            lines += ["", f"... and {len(open_) - 30} more in parity-matrix.html"]
        lines += ["", "Each finding's `parity-baseline.toml` entries (to accept it instead of "
                  "fixing it) are in parity-matrix.html and under `findings[].baseline` in "
                  "parity-matrix.json."]  # fmt: skip
    figures = {b: d for b, d in verdict.load_figures.items() if d}
    if figures:
        lines += [
            "",
            "## Load figures (overall)",
            "",
            "| backend | requests | error rate | p50 ms | p95 ms | p99 ms | req/s |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for backend, doc in figures.items():
            o = doc.get("overall") or {}
            lines.append(
                f"| {backend} | {o.get('requests')} | {float(o.get('error_rate') or 0):.2%} | "
                f"{o.get('p50_ms')} | {o.get('p95_ms')} | {o.get('p99_ms')} | "
                f"{float(o.get('rps') or 0):.1f} |"
            )
    lines += [
        "",
        f"Thresholds: region {t.region.upper()}, error rate < {t.max_error_rate:.1%}, "
        f"p95 < {t.p95_ms:g} ms, inputs younger than {t.max_age_hours:g} h, "
        f"{'any' if t.block_any_drift else 'breaking drift on smoke endpoints'} blocks.",
        "",
    ]
    return "\n".join(lines)


# --- gathering from disk ------------------------------------------------------------------


def _read_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    if not path.is_file():
        return None, "is missing"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"is unreadable ({exc})"
    if not isinstance(doc, dict):
        return None, "is not a JSON object"
    return doc, None


def smoke_scenarios(catalog_path: Path) -> dict[str, frozenset[str]]:
    """The endpoints tagged ``smoke`` in the catalog, each with its scenario names."""
    from parity.core.catalog import load_catalog

    catalog = load_catalog(catalog_path)
    return {
        e.key: frozenset(s.name for s in e.scenarios)
        for e in catalog.endpoints
        if "smoke" in e.tags
    }


def smoke_endpoints(catalog_path: Path) -> frozenset[str]:
    return frozenset(smoke_scenarios(catalog_path))


def gather_inputs(
    reports_dir: Path, catalog_path: Path, backends: Sequence[str] = ("express", "serverless")
) -> GateInputs:
    """The latest run's matrix (its folder under ``reports_dir``, else ``reports_dir``
    itself) and the load figures (the run's folder first, then ``reports_dir``)."""

    folder = latest_run(reports_dir) or reports_dir
    problems: dict[str, str] = {}
    matrix, why = _read_json(folder / "parity-matrix.json")
    if why:
        problems["parity-matrix.json"] = why
    load: dict[str, Mapping[str, Any] | None] = {}
    for backend in backends:
        name = f"load-{backend}.json"
        doc, why = _read_json(folder / name if (folder / name).is_file() else reports_dir / name)
        load[backend] = doc
        if why:
            problems[f"load-{backend}.json"] = why
    smoke = smoke_scenarios(catalog_path)
    return GateInputs(matrix, frozenset(smoke), load, problems, smoke)


def run_gate(
    stage: int,
    reports_dir: Path,
    catalog_path: Path,
    config_path: Path | None,
    region: str | None = None,
    now: datetime | None = None,
) -> tuple[Verdict, Path]:
    """Judge the files under ``reports_dir``; write ``gate-<stage>.md``; return both."""
    table = read_gate_table(config_path)
    if region is not None:
        table = {**table, "region": region}
    thresholds = thresholds_for(stage, table, config_path)
    verdict = evaluate(gather_inputs(reports_dir, catalog_path), stage, thresholds, now)
    reports_dir.mkdir(parents=True, exist_ok=True)
    out = reports_dir / f"gate-{stage}.md"
    text = render_markdown(verdict)
    out.write_text(text, encoding="utf-8")

    folder = latest_run(reports_dir)
    if folder is not None:  # the verdict belongs to the run it judged, too
        (folder / out.name).write_text(text, encoding="utf-8")
    return verdict, out
