"""``parity report``: re-render ``parity-matrix.html`` from ``parity-matrix.json``.

Registered on the app in :mod:`parity.cli.app`. Without ``--input`` it reads the latest run
under the reports directory (``--reports-dir`` / ``PARITY_REPORTS_DIR``, default
``reports``: its ``latest.json``, else the directory's own ``parity-matrix.json``),
renders the page into that run's folder and refreshes the copy at the top of the
directory. The load figures shown are the run's own, else those ``parity load`` left in
the directory, judged against the matrix (:mod:`parity.engine.findings_load`): figures from
before the run or made with other settings are flagged on the page and said here; the
others are copied into the run's folder, so one folder holds the whole run.

A missing or malformed input is a :class:`~parity.engine.matrix.MatrixError` (a usage error: exit
2, one line naming the file and the fix); a matrix with failing cells still renders, and
exits 0: judging is the gate's job.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from parity.engine.findings import findings_line, findings_summary
from parity.engine.findings_load import load_problems
from parity.engine.matrix import load_matrix
from parity.engine.runs import latest_run
from parity.report.html import find_load_figures, write_html

__all__ = ["report"]

console = Console(soft_wrap=True)


def report(
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            envvar="PARITY_MATRIX",
            help="the matrix JSON a parity run wrote (default: the latest run's)",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="the HTML file to write (default: next to --input)"),
    ] = None,
    reports_dir: Annotated[
        Path,
        typer.Option(
            "--reports-dir", envvar="PARITY_REPORTS_DIR", help="where the runs' reports are"
        ),
    ] = Path("reports"),
) -> None:
    """Render the parity matrix HTML (self-contained) from its JSON: the latest run's."""
    folder = latest_run(reports_dir) if input_path is None else None
    source = input_path or (folder or reports_dir) / "parity-matrix.json"
    matrix = load_matrix(source)
    target = out or source.with_suffix(".html")
    figures = find_load_figures(source.parent, reports_dir)
    write_html(matrix, target, figures)
    flags = load_problems(matrix, figures)
    if folder is not None and out is None:
        # the run's folder holds its load figures too, once they are known to be its own
        for backend in figures:
            name = f"load-{backend}.json"
            loose = reports_dir / name
            if backend not in flags and not (folder / name).is_file() and loose.is_file():
                shutil.copyfile(loose, folder / name)
        shutil.copyfile(target, reports_dir / "parity-matrix.html")  # the latest, at the top
    summary = matrix["summary"]
    counts = summary.get("findings") or findings_summary(matrix.get("findings", []))
    console.print(escape(findings_line(counts)))
    console.print(f"{escape(summary['headline'])}; {summary['failing']} failing cell(s)")
    for backend, problems in sorted(flags.items()):
        console.print(
            f"[yellow]load figures of {backend} flagged[/] (the gate refuses them): "
            + escape("; ".join(problems))
        )
    console.print(f"written {target}")
