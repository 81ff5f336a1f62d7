"""``parity load``: the Locust user mix (the catalog's ``checks.load``, or its read-only
scenarios) against each backend in turn, same settings.

Registered on the app in :mod:`parity.cli.app`. With no URL for a selected backend, the
embedded sandbox is started (once, for both backends) and stopped afterwards; the
sandbox's ``PARITY_SANDBOX_LATENCY`` / ``PARITY_SANDBOX_ERROR_RATE`` knobs are read from
this process's environment. Writes ``<reports-dir>/load-<backend>.json`` per backend and
``load-<backend>.log`` (Locust's own output).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from parity.checks.load import (
    DEFAULT_THINK_TIME,
    PROGRESS_EVERY_S,
    THINK_TIME_ENV,
    LoadRun,
    Progress,
    load_document,
    parse_think_time,
    run_locust,
    token_env,
    write_load,
)
from parity.cli.options import BackendChoiceOpt, ExpressUrlOpt, ServerlessUrlOpt
from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.core.extras import require_extra
from parity.core.load_mix import build_mix
from parity.engine.launcher import sandbox_unless

__all__ = ["load"]

console = Console(soft_wrap=True)


def load(
    users: Annotated[int, typer.Option("--users", "-u", min=1, help="concurrent users")] = 10,
    duration: Annotated[
        int, typer.Option("--duration", "-t", min=1, help="seconds per backend")
    ] = 30,
    spawn_rate: Annotated[
        float | None, typer.Option("--spawn-rate", help="users started per second (default: all)")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="local Locust workers (0 = one process)")
    ] = 0,
    think_time: Annotated[
        str,
        typer.Option(
            "--think-time",
            envvar=THINK_TIME_ENV,
            help="seconds each user pauses between tasks: MIN-MAX, one number, or 0 for none "
            "(a dense run: enough requests in a few seconds to resolve an error rate)",
        ),
    ] = DEFAULT_THINK_TIME,
    backend: BackendChoiceOpt = None,
    express_url: ExpressUrlOpt = None,
    serverless_url: ServerlessUrlOpt = None,
    reports_dir: Annotated[
        Path | None, typer.Option("--reports-dir", envvar="PARITY_REPORTS_DIR")
    ] = None,
) -> None:
    """Run the Locust user mix headless against each backend; write load-<backend>.json."""
    require_extra("load", "parity load")  # before any sandbox starts: one line, exit 2
    settings = Settings.load(
        {
            "backend": backend,
            "express_url": express_url,
            "serverless_url": serverless_url,
            "reports_dir": reports_dir,
        }
    )
    run = LoadRun(
        users=users,
        duration_s=duration,
        spawn_rate=spawn_rate,
        workers=workers,
        think_time_s=parse_think_time(think_time),
    )
    log = settings.reports_dir / "sandbox-load.log"
    catalog = load_catalog(settings.catalog)
    # Checked here, before anything starts, with the same rules the locustfile applies
    # (roles are judged usable when the settings can log them in).
    mix = build_mix(catalog, writes_allowed=settings.writes_allowed)
    console.print(mix.summary())
    for line in mix.left_out:
        console.print(f"  left out: {line}")
    with sandbox_unless(not settings.needs_sandbox, settings, log, console) as target:
        for name in target.selected_backends:
            host = target.url_for(name)
            assert host is not None
            env = token_env(target, name, mix.roles())
            env["PARITY_LOAD_WRITES"] = "1" if target.writes_allowed else "0"
            env["PARITY_CATALOG"] = str(settings.catalog.resolve())
            how = f"{workers} workers" if workers else "1 process"
            every = f"a line every {PROGRESS_EVERY_S:g} s"
            console.print(f"{name}: {users} users for {duration} s ({how}), {every}")

            def progress(p: Progress, backend: str = name) -> None:
                console.print(f"  {backend}: {p.line()}", markup=False)

            stats = run_locust(
                host, run, env, target.reports_dir / f"load-{name}.log", on_progress=progress
            )
            out = write_load(load_document(name, host, run, stats), target.reports_dir)
            o = stats["overall"]
            kinds = ", ".join(f"{n} x {k}" for k, n in stats["failures_by_kind"].items())
            console.print(
                f"{name}: {o['requests']} requests, {o['error_rate']:.2%} errors"
                f"{f' ({kinds})' if kinds else ''}, "
                f"p50 {o['p50_ms']} ms, p95 {o['p95_ms']} ms, p99 {o['p99_ms']} ms, "
                f"{o['rps']:.1f} req/s -> {out}"
            )
