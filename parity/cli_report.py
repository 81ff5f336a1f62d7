"""``parity report``: re-render ``parity-matrix.html`` from ``parity-matrix.json``.

Registered on the app in :mod:`parity.cli`. A missing or malformed input is a
:class:`~parity.matrix.MatrixError` (a usage error: exit 2, one line naming the file and
the fix); a matrix with failing cells still renders, and exits 0: judging is the gate's job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from parity.matrix import load_matrix
from parity.report.html import write_html

__all__ = ["report"]

console = Console(soft_wrap=True)


def report(
    input_path: Annotated[
        Path,
        typer.Option("--input", envvar="PARITY_MATRIX", help="the matrix JSON a parity run wrote"),
    ] = Path("reports/parity-matrix.json"),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="the HTML file to write (default: next to --input)"),
    ] = None,
) -> None:
    """Render the parity matrix HTML (self-contained) from its JSON."""
    matrix = load_matrix(input_path)
    target = out or input_path.with_suffix(".html")
    write_html(matrix, target)
    summary = matrix["summary"]
    console.print(f"{summary['headline']}; {summary['failing']} failing cell(s)")
    console.print(f"written {target}")
