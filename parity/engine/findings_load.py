"""Load figures judged against the run they are shown with, and as findings.

``parity load`` runs apart from the checks, so the figures next to a matrix may come from
another run: an older one (other users, another duration, a sandbox with latency
injected), or the two backends' figures from different settings. Shown as they are, they
would mislead; so each load document is checked against the matrix (made before the run
started? against another host? another run id?) and against the other backend's (same
users, duration, workers, think time, spawn rate?). What does not hold is *flagged*: the
report says so beside the figures, and the gate refuses them.

Load figures also become findings (:func:`load_findings`): a flagged input, and a
serverless error rate or p95 over the gate's thresholds, each one line with what to do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from parity.core.timestamps import parse_timestamp

__all__ = ["SETTINGS_KEYS", "load_findings", "load_problems"]

#: What must be the same for two backends' figures to be compared side by side.
SETTINGS_KEYS = ("users", "spawn_rate", "duration_s", "workers", "think_time_s")


def _settings(doc: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {doc.get(k)}" for k in SETTINGS_KEYS if k in doc)


def load_problems(
    matrix: Mapping[str, Any] | None, load: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, list[str]]:
    """Per backend, why its load figures do not belong with ``matrix`` (empty: they do)."""
    meta = (matrix or {}).get("meta") or {}
    started = parse_timestamp(meta.get("started_at"))  # older matrices: not known
    out: dict[str, list[str]] = {}
    docs = {b: d for b, d in load.items() if d}
    for backend, doc in docs.items():
        problems: list[str] = []
        made = parse_timestamp(doc.get("generated_at"))
        if started is not None and made is not None and made < started:
            problems.append(
                f"made {doc.get('generated_at')}, before this run started "
                f"({meta.get('started_at')}): older than the matrix"
            )
        run_id, theirs = meta.get("run_id"), doc.get("run_id")
        if run_id and theirs and str(theirs) != str(run_id):
            problems.append(f"from run {theirs}, not this run ({run_id})")
        url = str((meta.get("backends") or {}).get(backend) or "")
        host = str(doc.get("host") or "")
        if "://" in url and "://" in host and url.rstrip("/") != host.rstrip("/"):
            problems.append(f"made against {host}, the checks against {url}")
        others = [d for b, d in docs.items() if b != backend]
        for other in others:
            mine = {k: doc.get(k) for k in SETTINGS_KEYS}
            their = {k: other.get(k) for k in SETTINGS_KEYS}
            if mine != their:
                problems.append(
                    f"made with other settings than {other.get('backend')}'s "
                    f"({_settings(doc)} against {_settings(other)})"
                )
        if problems:
            out[backend] = problems
    return out


def _finding(key: str, title: str, severity: str, action: str, backend: str,
             evidence: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
    endpoint = f"LOAD /{backend}"
    return {
        "id": "L" + hashlib.sha1(key.encode()).hexdigest()[:6],
        "rank": 0,
        "title": title,
        "kind": "load",
        "state": "open",
        "severity": severity,
        "origin": None,
        "endpoints": [endpoint],
        "checks": ["load"],
        "cells": [{"endpoint": endpoint, "check": "load", "scenarios": ["-"], "states": ["drift"]}],
        "occurrences": 1,
        "paths": [],
        "first": {"endpoint": endpoint, "check": "load", "summary": title, **evidence},
        "action": action,
        "accepted_by": [],
        "baseline": None,
    }


def load_findings(
    matrix: Mapping[str, Any] | None,
    load: Mapping[str, Mapping[str, Any] | None],
    *,
    max_error_rate: float,
    p95_ms: float,
    candidate: str = "serverless",
) -> list[dict[str, Any]]:
    """Findings about the load figures: flagged inputs first, then the candidate's error
    rate and p95 over the thresholds (those of the gate)."""
    out: list[dict[str, Any]] = []
    for backend, problems in sorted(load_problems(matrix, load).items()):
        out.append(
            _finding(
                f"input {backend}",
                f"load figures of {backend} do not belong to this run: {problems[0]}",
                "breaking",
                "Run `parity load` again after the checks, with the same settings for both "
                "backends; the gate refuses these figures.",
                backend,
                {"problems": problems},
            )
        )
    doc = load.get(candidate)
    overall = (doc or {}).get("overall") or {}
    rate, p95 = overall.get("error_rate"), overall.get("p95_ms")
    if isinstance(rate, int | float) and rate >= max_error_rate:
        out.append(
            _finding(
                f"rate {candidate}",
                f"{candidate} error rate {float(rate):.2%} under load (threshold "
                f"{max_error_rate:.1%})",
                "breaking",
                "See failures_by_kind in the load figures for what failed, and the Lambda's "
                "logs; the gate says no-go at this rate.",
                candidate,
                {
                    "overall": dict(overall),
                    "failures_by_kind": doc.get("failures_by_kind") if doc else None,
                },
            )
        )
    if isinstance(p95, int | float) and p95 >= p95_ms:
        slow = [
            f"{e.get('name')} {e.get('p95_ms')} ms"
            for e in (doc or {}).get("endpoints", [])
            if isinstance(e, dict) and (e.get("p95_ms") or 0) >= p95_ms
        ]
        out.append(
            _finding(
                f"p95 {candidate}",
                f"{candidate} p95 {float(p95):g} ms under load (threshold {p95_ms:g} ms)",
                "breaking",
                "The slowest endpoints are listed: look at cold starts (provisioned "
                "concurrency), the Lambda's memory and its database connections.",
                candidate,
                {"overall": dict(overall), "slowest": slow[:5]},
            )
        )
    return out
