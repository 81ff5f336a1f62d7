"""``parity-matrix.html``: one self-contained file (inline CSS, JS and data; a CSP that
forbids any fetch), because it is opened from CI artifacts, often offline.

The page leads with the findings (the differences grouped by cause, the worst first, one
line each; :mod:`parity.engine.findings`), each opening to its evidence, its cells, what to do and
the baseline entries that would accept it; then an endpoints x checks grid (filters by
state, resource and text; the endpoint column stays in view when it scrolls) whose cells
open to the differences and both responses side by side. Details open in a panel fully
inside the viewport, at least 600 px wide, from 1366 x 768 up. Every element that shows a
finding carries ``data-finding="<id>"``.

Load figures (``load-<backend>.json``) are shown beside the matrix only after they are
checked against it (:mod:`parity.engine.findings_load`): figures from before the run started,
against other hosts or with other settings for the two backends are flagged, and the
candidate's error rate or p95 over the gate's thresholds become findings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["TEMPLATE", "find_load_figures", "read_load_figures", "render_html", "write_html"]

TEMPLATE = "parity-matrix.html.j2"

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("parity.report", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def read_load_figures(reports_dir: Path) -> dict[str, dict[str, Any]]:
    """``load-<backend>.json`` files (from ``parity load``) in ``reports_dir``, by backend
    (express first); unreadable ones are left out."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(
        reports_dir.glob("load-*.json"), key=lambda p: (p.stem != "load-express", p.stem)
    ):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("overall"), dict):
            found[str(doc.get("backend") or path.stem[len("load-") :])] = doc
    return found


def find_load_figures(folder: Path, reports_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """The load figures of a run: its folder's own, else those at the top of the reports
    directory (``parity load`` writes there), judged against the matrix when shown."""
    found = read_load_figures(folder)
    if reports_dir is not None and reports_dir.resolve() != folder.resolve():
        for backend, doc in read_load_figures(reports_dir).items():
            found.setdefault(backend, doc)
    return found


def _thresholds(matrix: Mapping[str, Any]) -> tuple[float, float]:
    """The gate's error-rate and p95 limits for the run's stage (10 % when it names none)."""
    from parity.engine.gate import thresholds_for

    stage = (matrix.get("meta") or {}).get("stage")
    t = thresholds_for(stage if stage in (10, 25, 50, 100) else 10)
    return t.max_error_rate, t.p95_ms


def render_html(
    matrix: Mapping[str, Any],
    load: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    limits: tuple[float, float] | None = None,
) -> str:
    """The page for ``matrix`` (a document of :func:`parity.engine.matrix.build_matrix`), with the
    load figures of each backend side by side when ``load`` is given (``limits``: the error
    rate and p95 that make a load finding; the gate's for the run's stage by default)."""
    from parity.engine.findings import build_findings
    from parity.engine.findings_load import load_findings, load_problems

    summary = matrix.get("summary", {})
    findings = matrix.get("findings")
    if not isinstance(findings, list):  # a document without them: rebuilt from its cells
        findings = build_findings([c for c in matrix.get("cells", []) if isinstance(c, dict)])
    flags: dict[str, list[str]] = {}
    if load:
        rate, p95 = limits or _thresholds(matrix)
        extra = load_findings(matrix, load, max_error_rate=rate, p95_ms=p95)
        findings = [*findings, *extra]
        flags = load_problems(matrix, load)
    open_first = {"open": 0, "reported": 1, "accepted": 2}
    findings = sorted(
        (dict(f) for f in findings), key=lambda f: open_first.get(str(f.get("state")), 3)
    )
    for rank, f in enumerate(findings, start=1):
        f["rank"] = rank
    data = {**matrix, "findings": findings}
    tables: dict[str, dict[str, Any]] = {}
    names: list[str] = []
    for backend, doc in (load or {}).items():
        rows = {str(e.get("name")): e for e in doc.get("endpoints", []) if isinstance(e, dict)}
        rows["overall"] = dict(doc.get("overall") or {})
        names += [n for n in rows if n not in names and n != "overall"]
        tables[backend] = {
            "users": doc.get("users"),
            "duration_s": doc.get("duration_s"),
            "generated_at": doc.get("generated_at"),
            "rows": rows,
        }
    # The template colours the headline red unless this is 0: the failing cells, plus the
    # failed tests no cell shows, plus a non-zero exit that neither explains (the page
    # must agree with the run's exit status, not only with its cells).
    failures = int(summary.get("failing", 0)) + len(summary.get("failed_outside") or [])
    if not failures and summary.get("exit_status") not in (None, 0):
        failures = 1
    return _ENV.get_template(TEMPLATE).render(
        data=data,
        headline=summary.get("headline", ""),
        failing=failures,
        load=tables,
        load_rows=[*sorted(names), "overall"] if tables else [],
        load_flags=flags,
    )


def write_html(
    matrix: Mapping[str, Any],
    path: Path,
    load: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    reports_dir: Path | None = None,
) -> Path:
    """Render ``matrix`` to ``path`` (written whole, then moved into place). ``load``
    defaults to the ``load-<backend>.json`` files next to ``path``, then those in
    ``reports_dir``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = find_load_figures(path.parent, reports_dir) if load is None else load
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(matrix, figures), encoding="utf-8")
    tmp.replace(path)
    return path
