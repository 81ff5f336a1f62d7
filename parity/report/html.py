"""``parity-matrix.html``: one self-contained file (inline CSS, JS and data; a CSP that
forbids any fetch), because it is opened from CI artifacts, often offline.

The page shows the headline, an endpoints x checks grid with filters by state and
resource, and for each cell the differences and both responses side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["TEMPLATE", "render_html", "write_html"]

TEMPLATE = "parity-matrix.html.j2"

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("parity", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def render_html(matrix: Mapping[str, Any]) -> str:
    """The page for ``matrix`` (a document of :func:`parity.matrix.build_matrix`)."""
    summary = matrix.get("summary", {})
    return _ENV.get_template(TEMPLATE).render(
        data=matrix,
        headline=summary.get("headline", ""),
        failing=summary.get("failing", 0),
    )


def write_html(matrix: Mapping[str, Any], path: Path) -> Path:
    """Render ``matrix`` to ``path`` (written whole, then moved into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(matrix), encoding="utf-8")
    tmp.replace(path)
    return path
