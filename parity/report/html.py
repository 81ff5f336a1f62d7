"""``parity-matrix.html``: one self-contained file (inline CSS, JS and data; a CSP that
forbids any fetch), because it is opened from CI artifacts, often offline.

The page shows the headline, an endpoints x checks grid with filters by state and
resource, and for each cell the differences and both responses side by side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["TEMPLATE", "read_load_figures", "render_html", "write_html"]

TEMPLATE = "parity-matrix.html.j2"

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("parity", "templates"),
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


def render_html(
    matrix: Mapping[str, Any], load: Mapping[str, Mapping[str, Any]] | None = None
) -> str:
    """The page for ``matrix`` (a document of :func:`parity.matrix.build_matrix`), with the
    load figures of each backend side by side when ``load`` is given."""
    summary = matrix.get("summary", {})
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
        data=matrix,
        headline=summary.get("headline", ""),
        failing=failures,
        load=tables,
        load_rows=[*sorted(names), "overall"] if tables else [],
    )


def write_html(
    matrix: Mapping[str, Any], path: Path, load: Mapping[str, Mapping[str, Any]] | None = None
) -> Path:
    """Render ``matrix`` to ``path`` (written whole, then moved into place). ``load``
    defaults to the ``load-<backend>.json`` files next to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = read_load_figures(path.parent) if load is None else load
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(matrix, figures), encoding="utf-8")
    tmp.replace(path)
    return path
