"""``parity demo``: the whole flow on the embedded sandbox, in one command.

Start the sandbox, capture Express into cassettes, check the committed contracts against a
fresh inference, run every check (smoke, contract, parity, boundary, auth, CORS, health,
browser flows) against both backends, and say where the matrix, JUnit and Allure results
are. Registered on the app in :mod:`parity.cli.app`.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from parity.core.config import parse_env_file
from parity.engine.launcher import SandboxProcess
from parity.plugin.session import RUN_ID_ENV

__all__ = ["demo"]

console = Console(soft_wrap=True)

# The QA-facing check folders; load and fuzz runs are separate commands (they take minutes).
CHECK_PATHS = ("api_checks", "contracts", "e2e")
CHECK_MARKERS = "not load and not fuzz"


def _step(title: str, cmd: list[str], env: dict[str, str]) -> tuple[int, float]:
    console.rule(f"[bold]{title}")
    # quoted as a shell would need it, so the line can be pasted as it is
    shown = ["pytest" if cmd[2:3] == ["pytest"] else "parity", *cmd[3:]] if cmd[1] == "-m" else cmd
    console.print(f"$ {escape(shlex.join(shown))}", style="dim")
    started = time.monotonic()
    code = subprocess.run(cmd, env=env, check=False).returncode
    return code, time.monotonic() - started


def demo(
    reports_dir: Annotated[
        Path, typer.Option("--reports-dir", envvar="PARITY_REPORTS_DIR", help="outputs")
    ] = Path("reports"),
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="include the Playwright flows")
    ] = True,
    sandbox_env: Annotated[
        Path | None,
        typer.Option(
            "--sandbox-env",
            help="use the running sandbox this env file describes (parity sandbox) instead "
            "of starting one",
        ),
    ] = None,
) -> None:
    """Start the sandbox, capture, check contracts, run every check, print the verdict."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    cassettes = reports_dir / "cassettes"
    junit = reports_dir / "junit.xml"
    allure = reports_dir / "allure-results"
    timings: list[tuple[str, int, float]] = []
    # One run id for the whole demo (capture and checks), the one `parity cleanup` takes.
    run_id = os.environ.get(RUN_ID_ENV) or secrets.token_hex(4)
    console.print(f"run id {run_id} (parity cleanup --run-id {run_id} deletes what it left)")
    with _sandbox(sandbox_env, reports_dir) as sandbox:
        env = {
            **os.environ,
            **sandbox,
            "PARITY_BACKEND": "both",
            "PARITY_REPORTS_DIR": str(reports_dir),
            RUN_ID_ENV: run_id,
        }
        parity = [sys.executable, "-m", "parity"]
        # A demo must not rewrite the committed cassette: it records into reports/.
        timings.append(
            (
                "capture Express",
                *_step("capture", [*parity, "capture", "--out", str(cassettes)], env),
            )
        )
        timings.append(
            (
                "contracts up to date",
                *_step(
                    "contracts",
                    [*parity, "contracts", "--cassettes", str(cassettes), "--check"],
                    env,
                ),
            )
        )
        paths = [p for p in CHECK_PATHS if browser or p != "e2e"]
        pytest_cmd = [
            sys.executable,
            "-m",
            "pytest",
            *paths,
            "-m",
            CHECK_MARKERS,
            "-q",
            # serial: the checks share this one sandbox, and stateful scenarios (reorder a
            # list, flip the web config) must not interleave
            "-p",
            "no:xdist",
            f"--junitxml={junit}",
            f"--alluredir={allure}",
            "--clean-alluredir",
        ]
        timings.append(("checks on both backends", *_step("checks", pytest_cmd, env)))
    _summary(timings, reports_dir, junit, allure)
    raise typer.Exit(0 if all(code == 0 for _, code, _ in timings) else 1)


@contextmanager
def _sandbox(env_file: Path | None, reports_dir: Path) -> Iterator[dict[str, str]]:
    """The settings of a running sandbox: the one ``env_file`` describes, or a new one."""
    if env_file is not None:
        console.print(f"[bold green]using the sandbox of[/] {env_file}")
        yield parse_env_file(env_file)
        return
    # the env file (passwords) goes to the private runtime dir, never under reports/
    with SandboxProcess(log_file=reports_dir / "sandbox.log") as proc:
        console.print(f"[bold green]sandbox ready[/] (pid {proc.pid})")
        yield proc.env


def _summary(
    timings: list[tuple[str, int, float]], reports_dir: Path, junit: Path, allure: Path
) -> None:
    console.rule("[bold]summary")
    steps = Table(title="steps")
    for col in ("step", "result", "seconds"):
        steps.add_column(col)
    for name, code, seconds in timings:
        steps.add_row(
            name, "[green]ok[/]" if code == 0 else f"[red]exit {code}[/]", f"{seconds:.1f}"
        )
    console.print(steps)
    counts: Counter[str] = Counter()
    try:
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome = "passed"
            for tag, label in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
                if case.find(tag) is not None:
                    outcome = label
            counts[outcome] += 1
        console.print(
            "tests: "
            + ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped"))
        )
    except (OSError, ET.ParseError):
        console.print(f"[red]no test results at {junit}[/]")
    matrix_path = reports_dir / "parity-matrix.json"
    try:
        matrix = json.loads(matrix_path.read_text(encoding="utf-8"))
        summary = matrix["summary"]
        colour = "green" if summary.get("clean", not summary.get("failing")) else "red"
        line = f"{summary['headline']}; {summary.get('failing', 0)} failing cell(s)"
        console.print(f"[bold {colour}]{escape(line)}[/]")
        states = ", ".join(f"{n} {s}" for s, n in sorted(summary["states"].items()) if n)
        console.print(f"cells: {states}")
    except (OSError, ValueError, KeyError):
        console.print(f"[red]no parity matrix at {matrix_path}[/]")
    console.print(f"report:  {reports_dir / 'parity-matrix.html'}")
    console.print(f"JUnit:   {junit}")
    console.print(f"Allure:  {allure}")
    failed = [name for name, code, _ in timings if code != 0]
    if failed:  # the exit status, said in words: the headline covers the checks only
        console.print(f"[bold red]demo failed[/]: {', '.join(failed)}")
