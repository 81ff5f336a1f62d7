"""Outputs built from the parity matrix, one module per format: ``html`` (the
self-contained page engineers open from CI artifacts) and ``allure`` (diffs attached to
Allure results). JUnit XML is pytest's own (``--junitxml``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["write_reports"]


def write_reports(matrix: Mapping[str, Any], reports_dir: Path) -> dict[str, Path]:
    """``parity-matrix.json`` and ``parity-matrix.html`` under ``reports_dir``."""
    from parity.matrix import write_json
    from parity.redact import redact
    from parity.report.html import write_html

    # Records were redacted where they were made; this pass also covers what was added on
    # the way (meta, summaries, baseline usage) with every secret this process knows.
    matrix = redact(matrix)
    json_path = write_json(matrix, reports_dir / "parity-matrix.json")
    html_path = write_html(matrix, reports_dir / "parity-matrix.html")
    return {"matrix JSON": json_path, "matrix HTML": html_path}
