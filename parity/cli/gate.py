"""``parity gate --stage N``: go (exit 0) or no-go (exit 1) for one rollout stage.

Registered on the app in :mod:`parity.cli.app`. Reads the latest run's ``parity-matrix.json``
(its findings and the smoke endpoints' cells) and ``load-<backend>.json`` from the reports
directory (``--reports-dir`` / ``PARITY_REPORTS_DIR``; see :mod:`parity.engine.gate`), writes
``gate-<stage>.md`` there (and in the run's folder) and prints the verdict, the findings'
count first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from parity.core.config import Settings
from parity.core.errors import UsageError
from parity.engine.gate import REGIONS, run_gate

__all__ = ["gate"]

console = Console(soft_wrap=True)


def gate(
    stage: Annotated[
        int, typer.Option("--stage", envvar="PARITY_STAGE", help="rollout stage: 10, 25, 50, 100")
    ],
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            envvar="PARITY_GATE_REGION",
            help=f"where the target is ({', '.join(REGIONS)}): picks the p95 threshold",
        ),
    ] = None,
    reports_dir: Annotated[
        Path | None,
        typer.Option(
            "--reports-dir", envvar="PARITY_REPORTS_DIR", help="where inputs and outputs are"
        ),
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option("--catalog", help="the catalog naming the smoke endpoints")
    ] = None,
) -> None:
    """Judge the latest matrix, smoke cells and load figures for a stage: exit 0 go, 1 no-go."""
    if region is not None and region.strip().lower() not in REGIONS:
        # named here, as the user wrote it: the gate table's own key is not what was wrong
        raise UsageError(
            f"invalid region {region!r}",
            location="--region / PARITY_GATE_REGION",
            hint=f"Use one of {', '.join(REGIONS)}",
        )
    settings = Settings.load({"stage": stage, "reports_dir": reports_dir, "catalog": catalog})
    assert settings.stage is not None
    verdict, out = run_gate(
        settings.stage, settings.reports_dir, settings.catalog, settings.config_path, region
    )
    word = "[bold green]GO[/]" if verdict.go else "[bold red]NO-GO[/]"
    console.print(f"stage {verdict.stage}%: {word}")
    if verdict.findings:  # what differs, by cause, before the criteria that judge it
        console.print(f"  {escape(verdict.findings_line)}")
    for c in verdict.criteria:
        mark = "[green]pass[/]" if c.ok else "[red]FAIL[/]"
        console.print(
            f"  {mark} {escape(c.name)}: {escape(c.figure)} (threshold {escape(c.threshold)})"
        )
        if c.detail:  # e.g. which endpoints drifted, or a run too short to trust its rate
            console.print(f"       {escape(c.detail)}")
    console.print(f"written {out}")
    raise typer.Exit(verdict.exit_code)
