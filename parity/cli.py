"""The ``parity`` command line: one engine, the same options as the pytest plugin.

Exit codes: 0 success (go), 1 checks failed (no-go), 2 usage error (bad input, with a message
naming the file, option or URL and the fix).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from parity.cli_contracts import capture, contracts
from parity.cli_report import report
from parity.errors import ParityError, UsageError
from parity.launcher import SandboxProcess

__all__ = ["app", "main"]

app = typer.Typer(
    name="parity",
    help="Endpoint-parity and contract testing for the Express -> Lambda migration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

ReportsDir = Annotated[
    Path,
    typer.Option("--reports-dir", envvar="PARITY_REPORTS_DIR", help="where outputs go"),
]


@app.command()
def sandbox(
    drift: Annotated[
        list[str] | None,
        typer.Option("--drift", help="inject a named drift into the serverless flavour"),
    ] = None,
    env_file: Annotated[
        Path, typer.Option("--env-file", help="where to write the settings that point at it")
    ] = Path("reports/sandbox.env"),
    production: Annotated[
        bool, typer.Option("--production", help="behave like production: no /debug/*")
    ] = False,
    express_port: Annotated[int, typer.Option(help="0 = a free port")] = 0,
    serverless_port: Annotated[int, typer.Option(help="0 = a free port")] = 0,
    web_port: Annotated[int, typer.Option(help="0 = a free port")] = 0,
) -> None:
    """Start the embedded sandbox (both backends, moto, cache, web) until Ctrl-C."""
    drifts = [d for d in (drift or []) if d]
    ports = {
        "PARITY_SANDBOX_EXPRESS_PORT": express_port,
        "PARITY_SANDBOX_SERVERLESS_PORT": serverless_port,
        "PARITY_SANDBOX_WEB_PORT": web_port,
    }
    proc = SandboxProcess(
        env_file,
        drifts=drifts,
        production=production,
        extra_env={k: str(v) for k, v in ports.items() if v},
    )
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    with console.status("starting the sandbox..."):
        env = proc.start()
    # Before the "Ctrl-C stops everything" line: a Ctrl-C right after it must not land
    # between the print and the wait loop (exit 130 with the sandbox's clean-up skipped).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    console.print(f"[bold green]sandbox ready[/] (pid {proc.pid}); settings written to {env_file}")
    for key, value in env.items():
        secret = key.endswith("_PASSWORD") or "_TOKEN_" in key  # expired tokens too
        shown = "********" if secret else value
        console.print(f"  {key}={shown}")
    console.print(
        f"\nIn another shell: [bold]set -a; . {env_file}; set +a; pytest -m smoke[/]\n"
        "Ctrl-C stops everything."
    )
    try:
        while not stop and proc._proc is not None and proc._proc.poll() is None:
            time.sleep(0.3)
    except KeyboardInterrupt:
        pass
    code = proc.stop()
    console.print(f"sandbox stopped (exit {code})")


@app.command()
def demo(reports_dir: ReportsDir = Path("reports")) -> None:
    """Start the sandbox, run the checks against both backends, say where the results are."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    env_file = reports_dir / "sandbox.env"
    junit = reports_dir / "junit-demo.xml"
    with SandboxProcess(env_file) as proc:
        console.print(f"[bold green]sandbox ready[/] (pid {proc.pid})")
        child_env = {**os.environ, **proc.env, "PARITY_BACKEND": "both"}
        started = time.monotonic()
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "api_checks",
            "-m",
            "smoke",
            "-q",
            f"--junitxml={junit}",
        ]
        console.print(f"running: {' '.join(cmd[2:])}")
        result = subprocess.run(cmd, env=child_env, check=False)
        elapsed = time.monotonic() - started
    _print_summary(junit, elapsed)
    raise typer.Exit(0 if result.returncode == 0 else 1)


def _print_summary(junit: Path, elapsed: float) -> None:
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        err.print(f"no test results at {junit}")
        return
    counts: Counter[tuple[str, str]] = Counter()
    for case in root.iter("testcase"):
        name = case.get("name", "")
        backend = name.rsplit("[", 1)[-1].rstrip("]") if "[" in name else "-"
        backend = backend.split("-")[0]
        outcome = "passed"
        for tag, label in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            if case.find(tag) is not None:
                outcome = label
        counts[(backend, outcome)] += 1
    table = Table(title=f"smoke checks ({elapsed:.1f} s)")
    for col in ("backend", "passed", "failed", "error", "skipped"):
        table.add_column(col)
    for backend in sorted({b for b, _ in counts}):
        table.add_row(
            backend, *(str(counts[(backend, o)]) for o in ("passed", "failed", "error", "skipped"))
        )
    console.print(table)
    console.print(f"JUnit XML: {junit}")


# capture -> infer (parity/cli_contracts.py)
app.command()(capture)
app.command()(contracts)
# the parity matrix (parity/cli_report.py)
app.command()(report)


def main() -> None:
    try:
        app()
    except UsageError as exc:
        # one unwrapped line; the message is text, not Rich markup ("[redacted:email]")
        err.print("[bold red]error:[/]", escape(str(exc)), soft_wrap=True)
        sys.exit(2)
    except ParityError as exc:
        err.print("[bold red]error:[/]", escape(str(exc)), soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
