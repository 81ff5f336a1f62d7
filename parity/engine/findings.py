"""Findings: the differences of a run grouped by cause, across endpoints and checks.

A matrix cell says *where* something differs; a finding says *what* differs, everywhere it
shows, and what to do about it. Five drifts give five findings, however many cells each
one touches. Findings are built from the matrix's cells alone (each cell keeps every
record's verdict and evidence), so ``parity report`` and ``parity gate`` can rebuild them
from a matrix file.

Every judged record gives symptoms, each keyed by its cause
(:mod:`parity.engine.symptoms`, which says how).

**Grouping.** Symptoms with equal keys are one finding; so are the keys that appear
together as removals in one error answer (an envelope that lost ``status``, ``data`` and
``error`` together, whichever check noticed which of them). A record without differences
whose text names a field of exactly one finding (a flow that crashed on ``price``)
joins that finding as one more place it shows; the body or curl line it quotes of its own
request does not count (a key it sent is no cause it shares).

Each finding has an id stable across runs (a hash of its key), its endpoints and cells,
severity, origin, the first evidence, what to do, and the ``parity-baseline.toml``
entries that would accept it (:func:`parity.engine.baseline_entries.baseline_toml`),
ready to paste.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from parity.engine.baseline_entries import baseline_toml
from parity.engine.symptoms import (
    FAILING,
    Hit,
    answers_of,
    generalise,
    leaf,
    records_of,
    symptoms_of,
)

__all__ = [
    "FINDING_STATES",
    "build_findings",
    "findings_line",
    "findings_summary",
]

#: ``open``: fails the run; ``accepted``: every occurrence is in the baseline; ``reported``:
#: shown, never failing (normalised spellings: same meaning, other bytes).
FINDING_STATES = ("open", "reported", "accepted")
_STATE_ORDER = {s: i for i, s in enumerate(FINDING_STATES)}
_SEVERITY_ORDER = {"breaking": 0, "additive": 1, "cosmetic": 2, None: 3}
_SHOWN_DIFFS = 5


# --- grouping -----------------------------------------------------------------------------


class _Union:
    def __init__(self) -> None:
        self.parent: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def find(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller key (as text) names the group: the same whatever the order
            first, second = sorted((ra, rb), key=repr)
            self.parent[second] = first


def _id(key: tuple[Any, ...]) -> str:
    return "F" + hashlib.sha1(repr(key).encode()).hexdigest()[:6]


def build_findings(
    cells: Sequence[Mapping[str, Any]],
    *,
    endpoints: Sequence[str] = (),
    today: date | None = None,
) -> list[dict[str, Any]]:
    """The findings of a matrix's ``cells``, the worst first. ``endpoints`` are the
    matrix's rows (a baseline entry's endpoint pattern must match none but its own)."""
    hits: list[Hit] = []
    union = _Union()
    for record in records_of(cells):
        symptoms = symptoms_of(record)
        for s in symptoms:
            if s.accepted_by:  # a known difference is its own finding, apart from new ones
                s.key = (*s.key, "accepted", s.accepted_by)
            union.find(s.key)
            hits.append(Hit(record, s))
        # removals in one error answer are one shape change, whichever check saw which
        removals = [s.key for s in symptoms if s.removal and s.key[-1] not in (None, "2xx")]
        for other in removals[1:]:
            union.join(removals[0], other)
    groups: dict[tuple[Any, ...], list[Hit]] = {}
    for hit in hits:
        groups.setdefault(union.find(hit.symptom.key), []).append(hit)
    _attach_verdicts(groups)
    _merge_inseparable(groups)
    rows = list(endpoints) or sorted({str(c.get("endpoint")) for c in cells})
    today = today or date.today()
    findings = [_finding(root, group, rows, today) for root, group in groups.items()]
    findings.sort(
        key=lambda f: (
            _STATE_ORDER[f["state"]],
            _SEVERITY_ORDER.get(f["severity"], 3),
            -len(f["cells"]),
            f["title"],
        )
    )
    for rank, f in enumerate(findings, start=1):
        f["rank"] = rank
    _cross_reference(findings)
    return findings


def _cross_reference(findings: list[dict[str, Any]]) -> None:
    """``same_cells``: the other open findings in one of this one's cells. Two findings in
    the same cells may be one cause the evidence cannot separate (a page off by one, and
    the other items it brings on another request): the reader sees them side by side."""
    where: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f["state"] == "open":
            for c in f["cells"]:
                where.setdefault((c["endpoint"], c["check"]), []).append(f["id"])
    for f in findings:
        if f["state"] != "open":
            continue
        others = {i for c in f["cells"] for i in where[(c["endpoint"], c["check"])]} - {f["id"]}
        if others:
            f["same_cells"] = sorted(others)


def _attach_verdicts(groups: dict[tuple[Any, ...], list[Hit]]) -> None:
    """A record without differences whose text names the field of exactly one finding
    (``no 'price' in the answer``) is one more place that finding shows. Only what the
    verdict says it saw counts (:attr:`Symptom.said`): a key of the body it sent, quoted
    in its summary or its curl line, is no cause it shares with that finding."""
    by_field: dict[str, set[tuple[Any, ...]]] = {}
    for root, group in groups.items():
        for hit in group:
            name = hit.symptom.field_name
            if name and len(name) > 2:
                by_field.setdefault(name, set()).add(root)
    for root in list(groups):
        group = groups[root]
        if not all(h.symptom.kind in ("error", "verdict", "flow") for h in group):
            continue
        # what the verdicts say they saw, not what their records sent (a fuzz verdict on
        # headers quotes the body {'name': ...} it posted: no finding on 'name' is its cause)
        text = " ".join(h.symptom.note if h.symptom.said is None else h.symptom.said
                        for h in group)  # fmt: skip
        named = {
            r
            for name, roots in by_field.items()
            # a path's last key (data.pieceCount) or a quoted name ('pieceCount')
            if re.search(rf"(?:(?<=\.)|(?<=['\"])){re.escape(name)}(?![\w.\[])", text)
            for r in roots
        }
        if len(named) == 1:
            target = next(iter(named))
            for hit in group:
                hit.symptom.note = "seen by this check too: " + hit.symptom.note
            groups[target].extend(group)
            del groups[root]


def _record_id(hit: Hit) -> tuple[str, str, str, str]:
    r = hit.record
    return (r["endpoint"], r["check"], str(r.get("scenario")), str(r.get("backend")))


def _merge_inseparable(groups: dict[tuple[Any, ...], list[Hit]]) -> None:
    """Open differences that occur in exactly the same answers and nowhere else cannot be
    told apart by the evidence (a page number off by one and the other items it brings):
    one finding, which lists them all and says so."""
    by_records: dict[frozenset[tuple[str, str, str, str]], list[tuple[Any, ...]]] = {}
    for root, group in groups.items():
        kinds = {h.symptom.kind for h in group}
        if kinds & {"error", "verdict", "flow", "header-normalised"}:
            continue
        if any(h.symptom.accepted_by or h.record["state"] not in FAILING for h in group):
            continue
        by_records.setdefault(frozenset(_record_id(h) for h in group), []).append(root)
    for roots in by_records.values():
        if len(roots) < 2:
            continue
        roots = sorted(roots, key=repr)
        keep = roots[0]
        titles = sorted({h.symptom.title for r in roots for h in groups[r]})
        for other in roots[1:]:
            groups[keep].extend(groups.pop(other))
        note = "seen together in the same answers only: " + "; ".join(titles[:5])
        for hit in groups[keep]:
            hit.symptom.note = hit.symptom.note or note
        groups[keep][0].symptom.note = note


def _title(group: Sequence[Hit]) -> tuple[str, str]:
    """(title, kind) of a finding: its most telling symptom's."""
    order = ["missing-endpoint", "status", "gateway-answer", "renamed", "removed", "type",
             "format", "value", "order", "added", "item-removed", "item-added", "body",
             "header-changed", "header-removed", "header-added", "header-normalised",
             "verdict", "flow", "error"]  # fmt: skip
    rank = {k: i for i, k in enumerate(order)}
    # a differential check's words first: it saw both values (a contract check one)
    best = min(
        group,
        key=lambda h: (
            rank.get(h.symptom.kind, len(order)),
            any("problem" in d for d in h.symptom.diffs),
            h.symptom.title,
        ),
    )
    paths = {
        generalise(str(d.get("path")))
        for h in group
        if h.symptom.removal
        for d in h.symptom.diffs
        if d.get("kind") in ("removed", "value")
    }
    # error.code under a missing error says nothing more
    removals = sorted(p for p in paths if not any(p.startswith(q + ".") for q in paths))
    leaves = {leaf(p) for p in removals}
    if len(leaves) > 1 and best.symptom.kind in ("removed", "renamed"):
        statuses = sorted({str(s) for h in group for _, _, s in h.symptom.accept if s is not None})
        on = f" on {'/'.join(statuses)} answers" if statuses else ""
        return f"the answer loses {', '.join(removals)}{on}", "removed"
    return best.symptom.title, best.symptom.kind


def _finding(
    root: tuple[Any, ...], group: list[Hit], rows: Sequence[str], today: date
) -> dict[str, Any]:
    title, kind = _title(group)
    failing = [
        h
        for h in group
        if h.record["state"] in FAILING
        and not h.symptom.accepted_by
        and h.symptom.kind != "header-normalised"  # same meaning: reported, never failing
    ]
    if failing:
        state = "open"
    elif all(h.symptom.kind == "header-normalised" for h in group):
        state = "reported"
    else:
        state = "accepted"
    shown = failing or group
    severity = min(
        (h.symptom.severity for h in shown), key=lambda s: _SEVERITY_ORDER.get(s, 3), default=None
    )
    origins = sorted({h.symptom.origin for h in shown if h.symptom.origin})
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for h in group:
        r = h.record
        cell = cells.setdefault(
            (r["endpoint"], r["check"]),
            {"endpoint": r["endpoint"], "check": r["check"], "scenarios": [], "states": []},
        )
        scenario = r.get("scenario") or "-"
        if scenario not in cell["scenarios"]:
            cell["scenarios"].append(scenario)
        if r["state"] not in cell["states"]:
            cell["states"].append(r["state"])
    endpoints = sorted({e for e, _ in cells}, key=lambda e: (_row(rows, e), e))
    checks = sorted({c for _, c in cells})
    first = shown[0]
    accepted_by = sorted({h.symptom.accepted_by for h in group if h.symptom.accepted_by})
    finding: dict[str, Any] = {
        "id": _id(root),
        "rank": 0,
        "title": title,
        "kind": kind,
        "state": state,
        "severity": severity,
        "origin": origins[0] if len(origins) == 1 else ("mixed" if origins else None),
        "endpoints": endpoints,
        "checks": checks,
        "cells": sorted(cells.values(), key=lambda c: (_row(rows, c["endpoint"]), c["check"])),
        "occurrences": len(group),
        "paths": sorted(
            {
                generalise(str(d.get("path")))
                for h in group
                for d in h.symptom.diffs
                if d.get("path")
            }
        )[:20],
        "first": _first(first, group),
        "action": _action(kind, title, group, state),
        "accepted_by": accepted_by,
        "baseline": None,
    }
    if state == "open":
        finding["baseline"] = baseline_toml(finding["id"], title, group, rows, today)
    notes = sorted({h.symptom.note for h in group if h.symptom.note.startswith("seen ")})
    if notes:
        finding["related"] = notes[:5]
    return finding


def _row(rows: Sequence[str], endpoint: str) -> int:
    try:
        return rows.index(endpoint)
    except ValueError:
        return len(rows)


def _first(hit: Hit, group: Sequence[Hit]) -> dict[str, Any]:
    r = hit.record
    # every difference of this finding in that record (a shape change has several)
    diffs = [d for h in group if h.record is r for d in h.symptom.diffs]
    ev = r["evidence"]
    first: dict[str, Any] = {
        "endpoint": r["endpoint"],
        "check": r["check"],
        "scenario": r.get("scenario"),
        "backend": r.get("backend"),
        "state": r["state"],
        "summary": r["summary"][:300],
        "differences": diffs[:_SHOWN_DIFFS],
    }
    if ev.get("error"):
        first["error"] = str(ev["error"])[:2000]
    request = ev.get("request")
    if isinstance(request, dict):
        first["request"] = {k: request.get(k) for k in ("method", "path", "url", "role")
                            if request.get(k) is not None}  # fmt: skip
    ref, cand = answers_of(r)
    if ref is not None:
        first["reference_status"] = ref["status"]
    if cand is not None:
        first["candidate_status"] = cand["status"]
    return first


def _action(kind: str, title: str, group: Sequence[Hit], state: str) -> str:
    """What to do, in one or two sentences."""
    if state == "accepted":
        ids = sorted({h.symptom.accepted_by or "" for h in group} - {""})
        return (
            f"Accepted by the baseline ({', '.join(ids)}): nothing to do until the entry "
            "expires; delete the entry once the difference is gone."
        )
    first = group[0].symptom
    name = first.field_name or "the field"
    if kind == "removed" and title.startswith("the answer loses "):
        keys = title.removeprefix("the answer loses ").split(" on ", 1)[0]
        return (
            f"Send {keys} again on these answers: a client reads the same envelope on every "
            "answer, so these are the candidate's answers in another shape."
        )
    text = {
        "missing-endpoint": "Deploy the route on the candidate (its gateway has none). Accept "
        "it only if the endpoint is retired, and then take it out of the catalog.",
        "status": "Make the candidate answer with the reference's status (the frontend "
        "branches on it). If the gateway answers first, fix its route or authorizer.",
        "gateway-answer": 'API Gateway answers itself, in its own {"message": ...} shape. '
        "Map it to the envelope (gateway responses), or make sure the frontend copes with "
        "both shapes and accept it in the baseline.",
        "renamed": f"Send {name} under its old name again (the frontend reads {name}), or "
        "change the frontend and every other client first.",
        "removed": f"Send {name} again. Where the reference sends null, send null: a missing "
        "key and a null are different to a typed client.",
        "type": f"Send {name} with the reference's JSON type: a typed client breaks on it.",
        "format": f"Values of {name} differ by nature, so they are not compared; their format "
        "is, and it changed. Make the candidate write the reference's format.",
        "value": "Make the candidate compute the same value. Accept it only if the difference "
        "carries no meaning for any client.",
        "order": "Sort as the reference does, or declare the list unordered in the catalog "
        "(noise: unordered) if its order carries no meaning.",
        "added": "A new field: harmless to a tolerant reader. Remove it, or accept it in the "
        "baseline if it is meant to be there.",
        "item-added": "The lists differ in length: find why the candidate returns other items.",
        "item-removed": "The lists differ in length: find why the candidate returns other items.",
        "body": "The answers differ as a whole: compare both responses in the evidence.",
        "header-changed": "Send the header as the reference does (browsers and caches act on it).",
        "header-removed": "Send the header as the reference does (browsers and caches act on it).",
        "header-added": "A header only the candidate sends: harmless unless it changes "
        "caching or CORS; remove it or accept it.",
        "header-normalised": "Nothing to do unless a client compares the raw header: the "
        "spelling differs, the meaning does not. It does not fail the run.",
        "error": "The suite could not judge these cells: fix the cause above (reachability, "
        "set-up, test data) and run again. This is no verdict on the candidate.",
        "flow": "A browser flow failed: open its trace and screenshot (reports/playwright) "
        "and fix what the user would see.",
        "verdict": "Open a cell's evidence for what was seen, and fix the candidate.",
    }.get(kind, "Open a cell's evidence for what was seen, and fix the candidate.")
    return text


# --- summaries ----------------------------------------------------------------------------


def findings_summary(findings: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts: ``open`` (failing the run) by severity, ``reported``, ``accepted``."""
    open_ = [f for f in findings if f.get("state") == "open"]
    return {
        "total": len(findings),
        "open": len(open_),
        "breaking": sum(1 for f in open_ if f.get("severity") in ("breaking", None)),
        "additive": sum(1 for f in open_ if f.get("severity") == "additive"),
        "cosmetic": sum(1 for f in open_ if f.get("severity") == "cosmetic"),
        "reported": sum(1 for f in findings if f.get("state") == "reported"),
        "accepted": sum(1 for f in findings if f.get("state") == "accepted"),
    }


def findings_line(counts: Mapping[str, int]) -> str:
    """``3 findings (2 breaking, 1 additive); 1 cosmetic note; 2 accepted``."""
    n = int(counts.get("open", 0))
    kinds = [f"{counts[k]} {k}" for k in ("breaking", "additive", "cosmetic") if counts.get(k)]
    line = f"{n} finding{'s' if n != 1 else ''}" + (f" ({', '.join(kinds)})" if kinds else "")
    if counts.get("reported"):
        line += f"; {counts['reported']} cosmetic note{'s' if counts['reported'] != 1 else ''}"
    if counts.get("accepted"):
        line += f"; {counts['accepted']} accepted"
    return line
