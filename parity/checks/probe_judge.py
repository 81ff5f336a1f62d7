"""Judging probe answers: each probe's pair of answers goes through the differential engine
(:func:`parity.engine.differential.run_case`: status, the headers that matter, the envelope, noise
learned from a second reference answer to a read, the catalog's declared rules), then the
differences are judged against the baseline under the probe's own check (``probe:<kind>``).

One record per endpoint, probe kind and pair of answers: probes whose answers have the same
statuses and body shapes on both sides make one record (the worst of them speaks for the
group; every probe of it is listed in the evidence), so a hundred wrong values that both
backends refuse alike are one line, not a hundred.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from parity.checks.probe_model import Probe, probe_check
from parity.checks.verdicts import record
from parity.core.catalog import Case, Endpoint, Scenario
from parity.core.envelope import Envelope as ApiEnvelope
from parity.core.results import CheckResult
from parity.engine.baseline import BASELINE_KEY, Baseline
from parity.engine.diff import Difference
from parity.engine.differential import run_case
from parity.engine.matrix import STATE_RANK
from parity.engine.runner import Exchange

__all__ = ["Judged", "group_records", "judge", "shape_of"]

_LISTED = 40  # probes named per record in the evidence


@dataclass
class _Fixed:
    """A differential source whose answers were already fetched (by run_variants, in one
    set-up per backend): run_case judges them like any live answer."""

    name: str
    answers: dict[str, Exchange]
    again_answers: dict[str, Exchange] | None = None
    live: bool = True

    def exchange(self, case: Case, scenario: Scenario) -> Exchange:
        return self.answers[scenario.name]

    def again(self, case: Case, scenario: Scenario) -> Exchange | None:
        return None if self.again_answers is None else self.again_answers.get(scenario.name)


@dataclass
class Judged:
    probe: Probe
    result: CheckResult
    statuses: tuple[int, int]
    shapes: tuple[str, str]
    first: tuple[int, int] | None = None  # repetition: the first send's statuses
    notes: list[str] = field(default_factory=list)


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_shape(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + "|".join(sorted({_shape(v) for v in value})) + "]"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def _plain(exchange: Exchange) -> Exchange:
    """An empty body as empty text, whatever its content type says (the runner describes
    a body it cannot decode by type, length and digest; the content type is compared as
    a header anyway, so two empty bodies must not differ by their descriptions)."""
    text = exchange.text
    if text is not None and text.startswith("<binary ") and ", 0 bytes," in text:
        return replace(exchange, text="")
    return exchange


def shape_of(exchange: Exchange) -> str:
    """The answer's body shape (keys and types, not values); text bodies as ``text``."""
    if exchange.text is not None:
        return "text" if exchange.text else "empty"
    return _shape(exchange.json)


def judge(
    endpoint: Endpoint,
    probe: Probe,
    reference: tuple[str, list[Exchange]],
    candidate: tuple[str, list[Exchange]],
    again: list[Exchange] | None,
    baseline: Baseline,
    envelope: ApiEnvelope | None = None,
) -> Judged:
    """The probe's verdict from its answers (the last of ``sends`` on each side)."""
    sent = probe.endpoint_for(endpoint)
    ref, cand = _plain(reference[1][-1]), _plain(candidate[1][-1])
    name = probe.scenario.name
    again_answers = None if again is None else {name: _plain(again[-1])}
    outcome = run_case(
        Case(sent, probe.variants(reference[0])[-1]),
        _Fixed(reference[0], {name: ref}, again_answers),
        _Fixed(candidate[0], {name: cand}),
        baseline=Baseline(),  # judged below, under the probe's own check
        envelope=envelope,  # the catalog's: its text paths and its gateway's answers
    )
    diffs: list[Difference] = []
    shared: dict[str, Any] = {}
    for r in outcome.records:
        ev = dict(r.evidence)
        diffs += [Difference.from_dict(d) for d in ev.pop("differences", [])]
        shared = shared or {k: v for k, v in ev.items() if k != "baseline"}
        if r.state == "error":  # cannot happen with fetched answers; kept honest anyway
            shared["error"] = r.summary
    shared["probe"] = {"kind": probe.kind, "variety": probe.variety, "label": probe.label}
    first = None
    if probe.sends > 1:
        first = (reference[1][0].status, candidate[1][0].status)
        shared["probe"]["first_send"] = {reference[0]: first[0], candidate[0]: first[1]}
    result = record(
        endpoint=endpoint.key,
        check=probe_check(probe.kind),
        diffs=diffs,
        # an entry may name the probe's kind (probe:method) or its variety (probe:method:head)
        baseline=baseline.for_variety(probe.variety),
        scenario=probe.label,
        status=cand.status,
        ok="same answers",
        evidence=shared,
    )
    return Judged(probe, result, (ref.status, cand.status), (shape_of(ref), shape_of(cand)), first)


def _answers(judged: Judged) -> str:
    a, b = judged.statuses
    return f"{a} = {b}" if a == b else f"{a} -> {b}"


def group_records(judged: Iterable[Judged], notes: dict[str, list[str]]) -> list[CheckResult]:
    """One record per (kind, pair of statuses and body shapes); ``notes`` per kind (what
    was not sent, and why) go into each record of that kind."""
    groups: dict[tuple[str, tuple[int, int], tuple[str, str]], list[Judged]] = {}
    for j in judged:
        groups.setdefault((j.probe.kind, j.statuses, j.shapes), []).append(j)
    out: list[CheckResult] = []
    for (kind, _, _), members in groups.items():
        worst = max(members, key=lambda j: STATE_RANK.get(j.result.state, 0))
        rep = worst.result
        labels = [j.probe.label for j in members]
        shown = ", ".join(labels[:6]) + (f" (+{len(labels) - 6} more)" if len(labels) > 6 else "")
        count = f"{len(members)} probe{'s' if len(members) > 1 else ''}"
        evidence = dict(rep.evidence)
        evidence["probes"] = [
            {
                "label": j.probe.label,
                "variety": j.probe.variety,
                "state": j.result.state,
                "statuses": list(j.statuses),
            }
            for j in members[:_LISTED]
        ]
        evidence["probe_count"] = len(members)
        # every entry that accepted a member counts as used, not only the speaker's
        used = [i for j in members for i in j.result.evidence.get(BASELINE_KEY, []) or []]
        if used:
            evidence[BASELINE_KEY] = list(dict.fromkeys(used))
        if notes.get(kind):
            evidence["not_sent"] = notes[kind]
        what = rep.summary if rep.state != "pass" else "same answers"
        out.append(
            CheckResult(
                endpoint=rep.endpoint,
                check=rep.check,
                state=rep.state,
                summary=f"{_answers(worst)} for {count} ({shown}): {what}",
                scenario=rep.scenario,
                origin=rep.origin,
                severity=rep.severity,
                evidence=evidence,
            )
        )
    return out
