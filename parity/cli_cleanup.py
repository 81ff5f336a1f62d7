"""``parity cleanup``: delete what an interrupted run left behind (see :mod:`parity.cleanup`).

Registered on the app in :mod:`parity.cli`. Exit 0 when everything found was deleted (or
nothing was found), 1 when something could not be deleted, 2 for bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from parity.catalog import load_catalog
from parity.cleanup import cleanup as find_and_delete
from parity.cleanup import parse_duration, require_selection
from parity.client import Backends
from parity.config import Settings, parse_env_file
from parity.errors import UsageError

__all__ = ["cleanup"]

console = Console(soft_wrap=True)


def cleanup(
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", envvar="PARITY_RUN_ID", help="the run whose resources go"),
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than", help="also any suite-made resource older than this (90s, 30m, 2h, 1d)"
        ),
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="express, serverless or both (default)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be deleted, delete nothing")
    ] = False,
    express_url: Annotated[str | None, typer.Option("--express-url")] = None,
    serverless_url: Annotated[str | None, typer.Option("--serverless-url")] = None,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="KEY=value settings to use (e.g. the sandbox's env file)"),
    ] = None,
    allow_writes: Annotated[
        bool, typer.Option("--allow-writes", help="needed to delete on a production target")
    ] = False,
    catalog: Annotated[Path | None, typer.Option("--catalog")] = None,
) -> None:
    """Delete the suite's resources of one run (--run-id) or older than a duration, as
    each test user, on each backend; print what was removed."""
    require_selection(run_id, older_than)
    age = parse_duration(older_than) if older_than is not None else None
    settings = Settings.load(
        {
            "backend": backend,
            "express_url": express_url,
            "serverless_url": serverless_url,
            "allow_writes": allow_writes,
            "catalog": catalog,
        }
    )
    if env_file is not None:
        settings = settings.with_env(parse_env_file(env_file))
    if settings.missing_urls():
        missing = settings.missing_urls()[0]
        raise UsageError(
            f"no URL for the {missing} backend: cleanup works on a running target",
            hint=f"Pass --{missing}-url or PARITY_{missing.upper()}_URL, or --env-file with "
            "the sandbox's env file",
        )
    if not dry_run:
        settings.require_writes("parity cleanup")
    cat = load_catalog(settings.catalog)
    with Backends.from_settings(settings) as backends:
        found = find_and_delete(
            backends, cat, settings.users, run_id=run_id, older_than=age, dry_run=dry_run
        )
    what = f"run {run_id}" if run_id else "any run"
    if older_than:
        what += f"{' or' if run_id else ','} older than {older_than}"
    if not found:
        console.print(f"nothing left by {escape(what)}")
        return
    table = Table(title=f"suite-made resources of {escape(what)}")
    for column in ("backend", "kind", "id", "title", "created", "as", "state"):
        table.add_column(column)
    for s in found:
        style = "red" if s.failed else "green"
        table.add_row(
            s.backend,
            s.kind,
            s.id,
            escape(s.label[:60]),
            s.created_at or "",
            s.role,
            f"[{style}]{escape(s.state)}[/]",
        )
    console.print(table)
    failed = sum(s.failed for s in found)
    done = len(found) - failed
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{done} {verb}, {failed} failed")
    raise typer.Exit(1 if failed else 0)
