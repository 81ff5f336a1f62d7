"""``parity cleanup``: delete what an interrupted run left behind: its resources through
the API (:mod:`parity.engine.cleanup`), then its objects in the test bucket
(:mod:`parity.engine.storage`) when one is named.

Registered on the app in :mod:`parity.cli.app`. Exit 0 when everything found was deleted (or
nothing was found), 1 when something could not be deleted, 2 for bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from parity.cli.options import BackendChoiceOpt, ExpressUrlOpt, ServerlessUrlOpt
from parity.core.catalog import load_catalog
from parity.core.config import Settings, parse_env_file
from parity.core.errors import UsageError
from parity.engine.cleanup import Straggler, parse_duration, require_selection
from parity.engine.cleanup import cleanup as find_and_delete
from parity.engine.client import Backends
from parity.engine.storage import Bucket, StoredObject, sweep

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
    backend: BackendChoiceOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be deleted, delete nothing")
    ] = False,
    express_url: ExpressUrlOpt = None,
    serverless_url: ServerlessUrlOpt = None,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", help="KEY=value settings to use (e.g. the sandbox's env file)"),
    ] = None,
    allow_writes: Annotated[
        bool, typer.Option("--allow-writes", help="needed to delete on a production target")
    ] = False,
    catalog: Annotated[Path | None, typer.Option("--catalog")] = None,
    s3_bucket: Annotated[
        str | None,
        typer.Option(
            "--s3-bucket",
            help="also delete the run's objects in this bucket (PARITY_S3_BUCKET): uploads "
            "never completed, which no API call reaches",
        ),
    ] = None,
    s3_endpoint: Annotated[
        str | None,
        typer.Option("--s3-endpoint", help="an S3 stand-in such as moto (PARITY_S3_ENDPOINT)"),
    ] = None,
    s3_prefix: Annotated[
        str | None,
        typer.Option("--s3-prefix", help="list only under this prefix (PARITY_S3_PREFIX)"),
    ] = None,
) -> None:
    """Delete what one run (--run-id) or any run older than a duration left behind.

    As each test user, on each backend, through the API (and, with --s3-bucket, the
    uploads it never completed); prints what was removed."""
    require_selection(run_id, older_than)
    age = parse_duration(older_than) if older_than is not None else None
    settings = Settings.load(
        {
            "backend": backend,
            "express_url": express_url,
            "serverless_url": serverless_url,
            "allow_writes": allow_writes,
            "catalog": catalog,
            "s3_bucket": s3_bucket,
            "s3_endpoint": s3_endpoint,
            "s3_prefix": s3_prefix,
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
    failed = _show_resources(found, what, dry_run)
    bucket = Bucket.from_settings(settings)
    if bucket is not None:
        if failed and not dry_run:
            # an object may still belong to a file of a resource that could not be deleted
            console.print(
                f"[yellow]{bucket.where} not swept[/]: {failed} resource(s) could not be "
                "deleted; fix that and run cleanup again"
            )
        else:
            objects = sweep(
                bucket, run_id=run_id, older_than=age, prefix=settings.s3_prefix, dry_run=dry_run
            )
            failed += _show_objects(objects, what, bucket.where, dry_run)
    raise typer.Exit(1 if failed else 0)


def _show_resources(found: list[Straggler], what: str, dry_run: bool) -> int:
    """Print the resources found; returns how many could not be deleted."""
    if not found:
        console.print(f"nothing left by {escape(what)}")
        return 0
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
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{len(found) - failed} {verb}, {failed} failed")
    return failed


def _show_objects(objects: list[StoredObject], what: str, where: str, dry_run: bool) -> int:
    """Print the bucket objects found; returns how many could not be deleted."""
    if not objects:
        console.print(f"no object of {escape(what)} in {escape(where)}")
        return 0
    table = Table(title=f"suite-made objects of {escape(what)} in {escape(where)}")
    for column in ("key", "bytes", "modified", "state"):
        table.add_column(column)
    for o in objects:
        style = "red" if o.failed else "green"
        modified = o.last_modified.isoformat(timespec="seconds") if o.last_modified else ""
        table.add_row(escape(o.key), str(o.size), modified, f"[{style}]{escape(o.state)}[/]")
    console.print(table)
    failed = sum(o.failed for o in objects)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{len(objects) - failed} object(s) {verb}, {failed} failed")
    return failed
