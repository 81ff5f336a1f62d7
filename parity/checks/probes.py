"""Probes: the requests nobody writes a catalog scenario for, derived from every endpoint
and its base scenario, sent to both backends and judged like any differential case
(``pytest -m probe``, ``api_checks/test_probes.py``; docs/probes.md).

Kinds (:data:`~parity.checks.probe_model.PROBE_KINDS`), each its own matrix check ``probe:<kind>``:

- **path**: a trailing slash; each route parameter unknown, of the wrong type, empty, very
  long, with encoded and unusual characters (:mod:`parity.checks.probe_kinds`);
- **method**: ``HEAD``, ``OPTIONS`` with and without ``Origin``, a method the route lacks;
- **query**: each parameter missing, empty, of the wrong type, negative, zero, huge,
  repeated, with unusual text; an unknown parameter;
- **body**: each field at any depth missing, null, empty, of the wrong type, too long, with
  unusual characters; an unknown key at each level; an empty object, not an object,
  malformed JSON, a missing or wrong ``Content-Type`` (:mod:`parity.checks.probe_bodies`);
- **auth**: no token, malformed, expired, another user's, the valid token under another
  scheme;
- **repetition**: each write sent twice in one state (a duplicate create, a delete twice).

The state is the base scenario's: its resources are created on each backend, every probe
of a group is sent in it (:func:`parity.engine.runner.run_variants`), and everything is deleted
after; a probe that may delete what the next needs (on a DELETE endpoint) gets a state of
its own. Reads are sent to the reference twice, so what differs between two reference
answers is noise. Deterministic under a seed; budgeted (:class:`ProbeBudget`); against
production, probes that write are refused unless writes are allowed.
"""

from __future__ import annotations

import random
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from parity.checks.probe_auth import auth_probes
from parity.checks.probe_bodies import body_probes
from parity.checks.probe_judge import Judged, group_records, judge
from parity.checks.probe_kinds import (
    Namer,
    method_probes,
    path_probes,
    query_probes,
    repetition_probes,
)
from parity.checks.probe_model import PROBE_KINDS, Probe, ProbeContext, probe_check
from parity.checks.sweeps import happy_path
from parity.core.catalog import Catalog, Endpoint, Scenario
from parity.core.errors import ParityError, UsageError
from parity.core.results import CheckResult
from parity.engine.baseline import Baseline
from parity.engine.client import BackendClient
from parity.engine.runner import Exchange, run_variants

__all__ = [
    "DEFAULT_BUDGET",
    "PROBE_KINDS",
    "ProbeBudget",
    "ProbeClock",
    "ProbePlan",
    "parse_budget",
    "plan_probes",
    "run_plan",
]

_GENERATORS = (
    path_probes,
    method_probes,
    query_probes,
    body_probes,
    auth_probes,
    repetition_probes,
)


@dataclass(frozen=True)
class ProbeBudget:
    """At most ``per_endpoint`` probes per endpoint (None: all), and ``seconds`` of probing
    in the whole session (None: no limit; counted over the probe tests only)."""

    per_endpoint: int | None = 40
    seconds: float | None = 120.0

    def describe(self) -> str:
        count = "all probes" if self.per_endpoint is None else f"{self.per_endpoint} probes"
        time_ = "no time limit" if self.seconds is None else f"{self.seconds:g} s"
        return f"{count} per endpoint, {time_} in all"


DEFAULT_BUDGET = ProbeBudget()
_PART = re.compile(r"^(?:(?P<count>\d+)|(?P<all>all)|(?P<seconds>\d+(?:\.\d+)?)s)$")


def parse_budget(text: str, where: str = "--probe-budget") -> ProbeBudget:
    """``"40"`` (probes per endpoint), ``"90s"`` (seconds in all), ``"40,90s"``, ``"all"``
    (every probe); what is not given keeps its default."""
    count: int | None = DEFAULT_BUDGET.per_endpoint
    seconds: float | None = DEFAULT_BUDGET.seconds
    for part in [p.strip().lower() for p in text.split(",") if p.strip()]:
        m = _PART.match(part)
        if m is None:
            raise UsageError(
                f"{where}: {part!r} is not a probe budget",
                hint="Give probes per endpoint (40), seconds in all (90s), both (40,90s), or all",
            )
        if m.group("count"):
            count = int(m.group("count")) or None
        elif m.group("all"):
            count = None
        else:
            seconds = float(m.group("seconds")) or None
    return ProbeBudget(count, seconds)


@dataclass
class ProbeClock:
    """Seconds spent inside probe tests (xdist and ordering never eat the budget)."""

    seconds: float | None
    spent: float = 0.0

    def deadline(self, started: float) -> float | None:
        return None if self.seconds is None else started + max(0.0, self.seconds - self.spent)


@dataclass
class ProbePlan:
    endpoint: Endpoint
    base: Scenario | None
    probes: list[Probe] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # per kind: not sent, why
    generated: int = 0  # before the budget
    source: str = ""  # where typed wrong values came from


#: Varieties tried first within their kind: type validation is where frameworks differ most
#: (Express takes anything, FastAPI answers 422, a Flask view crashes with 500).
_FIRST_VARIETIES = ("wrong-type",)


def _interleaved(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(kind, variety)`` keys in the order the budget takes them: the first variety of
    each kind, then the second of each, and so on (``wrong-type`` first within a kind), so
    a small budget spreads over the kinds instead of spending itself on the first one."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for key in keys:
        by_kind.setdefault(key[0], []).append(key)
    for varieties in by_kind.values():
        varieties.sort(key=lambda k: k[1] not in _FIRST_VARIETIES)  # stable: else as made
    order: list[tuple[str, str]] = []
    for rank in range(max((len(v) for v in by_kind.values()), default=0)):
        order += [v[rank] for v in by_kind.values() if rank < len(v)]
    return order


def _select(probes: list[Probe], limit: int | None, seed: int, salt: str) -> list[Probe]:
    """At most ``limit`` probes: round robin over (kind, variety), so every variety of
    every kind is tried before any gets a second value, the kinds taking turns
    (:func:`_interleaved`); within one variety, a seeded order."""
    if limit is None or len(probes) <= limit:
        return probes
    rng = random.Random(zlib.crc32(f"{seed}:{salt}".encode()))
    buckets: dict[tuple[str, str], list[Probe]] = {}
    for probe in probes:
        buckets.setdefault((probe.kind, probe.variety), []).append(probe)
    for bucket in buckets.values():
        rng.shuffle(bucket)
    ordered = [buckets[key] for key in _interleaved(list(buckets))]
    chosen: list[Probe] = []
    depth = 0
    while len(chosen) < limit:
        for bucket in ordered:
            if depth < len(bucket) and len(chosen) < limit:
                chosen.append(bucket[depth])
        depth += 1
    keep = {id(p) for p in chosen}
    return [p for p in probes if id(p) in keep]  # sent in the canonical order


def plan_probes(
    catalog: Catalog, endpoint: Endpoint, ctx: ProbeContext, per_endpoint: int | None
) -> ProbePlan:
    """Every probe of ``endpoint`` (its base: the first success scenario), within budget."""
    base = happy_path(endpoint)
    plan = ProbePlan(endpoint, base, source=ctx.coverage.source)
    if base is None:
        return plan
    name = Namer()
    probes: list[Probe] = []
    for generate in _GENERATORS:
        made, notes = generate(catalog, endpoint, base, ctx, name)
        probes += made
        for note in notes:
            kind = made[0].kind if made else generate.__name__.split("_")[0]
            plan.notes.setdefault(kind, []).append(note)
    if endpoint.method == "DELETE":  # each may delete what the next one needs
        probes = [p if p.sends > 1 else _isolated(p) for p in probes]
    plan.generated = len(probes)
    plan.probes = _select(probes, per_endpoint, ctx.seed, endpoint.id)
    if len(plan.probes) < len(probes):
        plan.notes.setdefault("budget", []).append(
            f"{len(probes) - len(plan.probes)} of {len(probes)} probes not sent "
            f"(--probe-budget {per_endpoint} per endpoint)"
        )
    return plan


def _isolated(probe: Probe) -> Probe:
    return replace(probe, isolated=True)


# --- sending -------------------------------------------------------------------------------


@dataclass
class _Group:
    """Probes sent in one state: the same endpoint (method, route) and one set-up."""

    endpoint: Endpoint
    probes: list[Probe]
    writes: bool
    again: bool  # a read: the reference answers twice (noise)


def _groups(catalog: Catalog, plan: ProbePlan) -> list[_Group]:
    assert plan.base is not None
    groups: dict[tuple[object, ...], _Group] = {}
    for number, probe in enumerate(plan.probes):
        sent = probe.endpoint_for(plan.endpoint)
        alone = probe.isolated or probe.sends > 1
        key = (sent.method, sent.route, number if alone else None)
        if key not in groups:
            writes = catalog.writes(sent, plan.base)
            reads = sent.read_only and sent.method not in ("HEAD", "OPTIONS")
            groups[key] = _Group(sent, [], writes, reads)
        groups[key].probes.append(probe)
    return list(groups.values())


def _send(
    client: BackendClient, catalog: Catalog, group: _Group, base: Scenario, run_id: str
) -> list[list[Exchange]]:
    variants = [v for p in group.probes for v in p.variants(client.name)]
    answers = run_variants(
        client, catalog, group.endpoint, base, variants, run_id, expect_json=False
    )
    out, at = [], 0
    for probe in group.probes:
        out.append(answers[at : at + probe.sends])
        at += probe.sends
    return out


def _left(
    kind: str, endpoint: Endpoint, state: str, summary: str, labels: list[str], **evidence: object
) -> CheckResult:
    return CheckResult(
        endpoint=endpoint.key,
        check=probe_check(kind),
        state=state,  # type: ignore[arg-type]
        summary=summary,
        scenario=labels[0] if labels else None,
        evidence={"probes": labels, **evidence},
    )


def _errors(
    probes: Sequence[Probe], endpoint: Endpoint, summary: str, **evidence: object
) -> list[CheckResult]:
    """One ``error`` record per probe kind of ``probes``, naming that kind's probes."""
    out = []
    for kind in dict.fromkeys(p.kind for p in probes):
        labels = [p.label for p in probes if p.kind == kind]
        out.append(_left(kind, endpoint, "error", summary, labels, **evidence))
    return out


def run_plan(
    plan: ProbePlan,
    catalog: Catalog,
    clients: tuple[BackendClient, BackendClient],
    run_id: str,
    baseline: Baseline,
    ctx: ProbeContext,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[CheckResult]:
    """Send ``plan`` to the reference and the candidate and judge it: one record per kind
    and pair of answers, plus ``skipped`` records (writes refused, budget spent) and
    ``error`` records (a set-up that failed, data left behind) naming the probes."""
    reference, candidate = clients
    assert plan.base is not None
    judged: list[Judged] = []
    held: dict[tuple[str, str], list[str]] = {}  # (kind, why) -> labels not sent
    records: list[CheckResult] = []
    pending = _groups(catalog, plan)
    while pending:
        group = pending.pop(0)
        why = None
        if group.writes and not ctx.writes_allowed:
            why = (
                "writes refused against a production target (pass --allow-writes): "
                "the probe or its set-up writes"
            )
        elif deadline is not None and clock() > deadline:
            why = "the probe budget (--probe-budget seconds) was spent before this probe"
        if why is not None:
            for p in group.probes:
                held.setdefault((p.kind, why), []).append(p.label)
            continue
        try:
            ref = _send(reference, catalog, group, plan.base, run_id)
            cand = _send(candidate, catalog, group, plan.base, run_id)
            again = _send(reference, catalog, group, plan.base, run_id) if group.again else None
        except ParityError as exc:
            if len(group.probes) > 1:
                # One probe's request failed (the candidate closed the connection on it):
                # send each probe of the group alone, so that only that probe is an error
                # and the group's other probes (of other kinds, too) are still judged.
                alone = [replace(group, probes=[p]) for p in group.probes]
                pending[:0] = alone
                continue
            records += _errors(
                group.probes, plan.endpoint, f"probes not judged: {exc}", error=str(exc)
            )
            continue
        left = [
            err
            for side in (ref, cand, again or [])
            for answers in side
            for ex in answers
            for err in ex.teardown_errors
        ]
        for i, probe in enumerate(group.probes):
            judged.append(
                judge(
                    plan.endpoint,
                    probe,
                    (reference.name, ref[i]),
                    (candidate.name, cand[i]),
                    again[i] if again else None,
                    baseline,
                    catalog.envelope,
                )
            )
        if left:
            summary = "left data behind: " + "; ".join(left)
            records += _errors(group.probes, plan.endpoint, summary, teardown_errors=left)
    records = group_records(judged, plan.notes) + records
    for (held_kind, why), labels in held.items():
        records.append(
            _left(
                held_kind,
                plan.endpoint,
                "skipped",
                f"{len(labels)} probe(s) not sent: {why}",
                labels,
            )
        )
    return records
