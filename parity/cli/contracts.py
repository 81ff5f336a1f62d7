"""``parity capture`` and ``parity contracts``: the capture -> infer half of the flow.

Registered on the app in :mod:`parity.cli.app`; kept here so the CLI module stays a list of
commands. Both raise :class:`~parity.core.errors.UsageError` for bad input (exit 2, one line
naming the file and the fix) and exit 1 when the result needs attention.
"""

from __future__ import annotations

import os
import re
import secrets as _random
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parity.core.catalog import Case, Catalog, load_catalog
from parity.core.config import Settings, is_secret_setting
from parity.core.errors import ParityError, UsageError
from parity.engine.capture import capture_catalog
from parity.engine.client import BackendClient, Backends
from parity.engine.contracts import ContractStore
from parity.engine.har import import_har
from parity.engine.infer import build_contracts
from parity.engine.launcher import sandbox_unless
from parity.engine.runner import Exchange
from parity.engine.storage import sweep_run

__all__ = ["DEFAULT_CASSETTES_DIR", "capture", "contracts", "known_secrets"]

DEFAULT_CASSETTES_DIR = Path("fixtures/cassettes")
console = Console(soft_wrap=True)

CatalogOpt = Annotated[
    Path | None,
    typer.Option("--catalog", help="endpoint catalog (default fixtures/catalog.yaml)"),
]
BackendOpt = Annotated[
    str,
    typer.Option("--backend", help="the backend recorded (contracts come from express)"),
]


def known_secrets(settings: Settings) -> list[str]:
    """Exact values to redact wherever they appear: the test users' passwords and any
    ``PARITY_*`` variable that holds a password, token, secret or key."""
    values = [u.password.reveal() for u in settings.users.values() if u.password is not None]
    values += [v for k, v in settings.env.items() if is_secret_setting(k) and v]
    return values


def _catalog(path: Path | None, settings: Settings | None = None) -> Catalog:
    """``--catalog``, else PARITY_CATALOG / parity.toml / fixtures/catalog.yaml."""
    if path is not None:
        return load_catalog(path)
    return load_catalog((settings or Settings.load()).catalog)


def _replay(
    client: BackendClient, catalog: Catalog, out: Path, settings: Settings, width: int
) -> int:
    cases = catalog.cases()
    if not settings.writes_allowed:  # production without --allow-writes: reads only
        kept = [c for c in cases if not catalog.writes(c.endpoint, c.scenario)]
        console.print(
            f"target is production: {len(cases) - len(kept)} scenarios that write are not "
            "recorded (pass --allow-writes to record them)"
        )
        cases = kept
    columns = (
        TextColumn("[bold]capture[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    # the run's id when one is given, so `parity cleanup --run-id` finds leftovers
    run_id = os.environ.get("PARITY_RUN_ID") or _random.token_hex(4)
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=len(cases))

        def advance(case: Case, exchange: Exchange | None) -> None:
            bar.update(task, advance=1, description=case.id)

        report = capture_catalog(
            client,
            catalog,
            out,
            run_id=run_id,
            cases=cases,
            concurrency=width,
            secrets=known_secrets(settings),
            progress=advance,
        )
    console.print(
        f"[bold green]{report.written} exchanges[/] recorded in {escape(str(out))} (redacted)"
    )
    # texts from backends and errors are not Rich markup: "[redacted:token]" must print as is
    for line in report.failures:
        console.print("[red]not recorded[/]", escape(line))
    for line in report.unexpected:
        console.print("[yellow]unexpected status[/]", escape(line))
    if not report.ok:
        console.print("Fix the backend or the catalog, then capture again.")
    _sweep(settings, run_id)
    return 0 if report.ok else 1


def _sweep(settings: Settings, run_id: str) -> None:
    """Delete the run's objects in the test bucket (uploads never completed)."""
    try:
        found = sweep_run(settings, run_id)
    except ParityError as exc:
        console.print(f"[yellow]bucket not swept[/]: {escape(str(exc))}")
        return
    if found:
        failed = sum(o.failed for o in found)
        console.print(
            f"{len(found) - failed} object(s) of run {run_id} deleted from "
            f"s3://{settings.s3_bucket}, {failed} failed"
        )


def capture(
    har: Annotated[
        Path | None,
        typer.Option(
            "--har", envvar="PARITY_HAR", help="import this HAR file instead of replaying"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            envvar="PARITY_CASSETTES",
            help="cassettes directory (default: cassettes/ beside the parity.toml read, "
            "else fixtures/cassettes)",
        ),
    ] = None,
    catalog: CatalogOpt = None,
    backend: BackendOpt = "express",
    express_url: Annotated[
        str | None, typer.Option("--express-url", help="default: PARITY_EXPRESS_URL or sandbox")
    ] = None,
    serverless_url: Annotated[
        str | None, typer.Option("--serverless-url", help="default: PARITY_SERVERLESS_URL")
    ] = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="HAR: only entries sent to this base URL")
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="read-only scenarios in parallel")
    ] = 1,
    allow_writes: Annotated[
        bool, typer.Option("--allow-writes", help="record writing scenarios on production")
    ] = False,
    reports_dir: Annotated[Path, typer.Option("--reports-dir")] = Path("reports"),
) -> None:
    """Record every catalog scenario (or a HAR file) into the cassettes, redacted."""
    if backend not in ("express", "serverless"):
        raise UsageError(f"unknown backend {backend!r}", hint="Use --backend express or serverless")
    settings = Settings.load(
        overrides={
            "backend": backend,
            "express_url": express_url,
            "serverless_url": serverless_url,
            "catalog": str(catalog) if catalog else None,
            "allow_writes": allow_writes,
        }
    )
    cat = _catalog(catalog, settings)
    out = out or settings.cassettes
    if har is not None:
        if not har.is_file():
            raise UsageError("no such HAR file", path=har, hint="Check the --har path")
        target = out / f"har-{re.sub(r'[^A-Za-z0-9_.-]', '_', har.stem)}.jsonl"
        report = import_har(
            har, cat, target, backend=backend, origin=origin, secrets=tuple(known_secrets(settings))
        )
        console.print(
            f"[bold green]{report.written} of {report.entries} HAR entries[/] recorded in "
            f"{escape(str(target))} (redacted)"
        )
        if report.other_origin:
            console.print(f"{report.other_origin} entries went to another origin than {origin}")
        if report.unmatched:
            console.print(f"{sum(report.unmatched.values())} entries match no catalog endpoint:")
            for key, count in report.unmatched.most_common():
                console.print(f"  {count:>4}  {key}", markup=False)
        return
    with (
        sandbox_unless(
            settings.url_for(backend) is not None,
            settings,
            reports_dir / "sandbox-capture.log",
            console,
        ) as resolved,
        Backends.from_settings(resolved) as clients,
    ):
        code = _replay(clients[backend], cat, out / f"{backend}.jsonl", resolved, concurrency)
    raise typer.Exit(code)


def contracts(
    cassettes: Annotated[
        Path | None,
        typer.Option(
            "--cassettes",
            envvar="PARITY_CASSETTES",
            help="where the cassettes are (default: as parity capture writes them)",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            envvar="PARITY_CONTRACTS_DIR",
            help="schemas directory (default: contracts/ beside the parity.toml read, "
            "else contracts/schemas)",
        ),
    ] = None,
    catalog: CatalogOpt = None,
    backend: BackendOpt = "express",
    check: Annotated[
        bool, typer.Option("--check", help="change nothing; exit 1 if contracts/ is stale")
    ] = False,
) -> None:
    """Infer one JSON Schema per endpoint x status from the cassettes into contracts/."""
    settings = Settings.load()
    cat = _catalog(catalog, settings)
    cassettes = cassettes or settings.cassettes
    out = out or settings.contracts
    report = build_contracts(cassettes, out, catalog=cat, backend=backend, write=not check)
    total = len(report.written) + len(report.unchanged)
    verb = "would change" if check else "written"
    console.print(
        f"[bold]{total} schemas[/] from {report.samples} samples in {escape(str(out))}: "
        f"{len(report.written)} {verb}, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} {'stale' if check else 'removed'}"
    )
    for path in report.written + report.removed:
        console.print(f"  {path}", markup=False)
    for reason, count in sorted(report.skipped.items()):
        console.print(f"skipped {count} exchanges: {reason}")
    if not check:
        ContractStore(out).check_all()  # what was written must load back
    if check and report.changed:
        console.print("contracts/ is out of date: run `parity contracts` and commit the result")
        raise typer.Exit(1)
