"""The ``parity`` command line: one engine, the same options as the pytest plugin.

Exit codes: 0 success (go), 1 checks failed (no-go), 2 usage error (bad input, with a message
naming the file, option or URL and the fix), 3 a backend could not be used, 4 a bug in the
suite. Every error is one ``error: ...`` line on stderr; a traceback only with ``--debug``
or ``PARITY_DEBUG=1``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
import typer.main
from rich.console import Console
from rich.markup import escape

from parity.cli.check import check
from parity.cli.cleanup import cleanup
from parity.cli.contracts import capture, contracts
from parity.cli.demo import demo
from parity.cli.gate import gate
from parity.cli.load import load
from parity.cli.openapi import openapi
from parity.cli.report import report
from parity.core.errors import InternalError, ParityError
from parity.core.redact import redact_text
from parity.engine.launcher import SandboxProcess, runtime_dir

__all__ = ["app", "command", "main"]

app = typer.Typer(
    name="parity",
    help="Endpoint-parity and contract testing for the Express -> Lambda migration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

_TRUE = {"1", "true", "yes", "on"}
_debug = False


@app.callback()
def _global_options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="PARITY_CONFIG",
            help="the parity.toml to read (default ./parity.toml when it exists)",
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="PARITY_DEBUG", help="show tracebacks of unexpected errors"),
    ] = False,
) -> None:
    global _debug
    _debug = debug
    if config is not None:  # every Settings.load() of this run (and its children) reads it
        os.environ["PARITY_CONFIG"] = str(config)


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
        Path | None,
        typer.Option(
            "--env-file",
            help="where to write the settings that point at it (they include the test users' "
            "passwords; default: sandbox.env in the private runtime dir, mode 0600)",
        ),
    ] = None,
    reports_dir: ReportsDir = Path("reports"),
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
    env_file = env_file or runtime_dir() / "sandbox.env"
    proc = SandboxProcess(
        env_file,
        log_file=reports_dir / "sandbox.log",
        drifts=drifts,
        production=production,
        extra_env={k: str(v) for k, v in ports.items() if v},
    )
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    # Installed before starting: a Ctrl-C at any moment sets the flag, and the finally
    # below stops the child, so no sandbox outlives this command.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    try:
        with console.status("starting the sandbox..."):
            env = proc.start()
        console.print(
            f"[bold green]sandbox ready[/] (pid {proc.pid}); settings written to {env_file}"
        )
        for key, value in env.items():
            secret = key.endswith("_PASSWORD") or "_TOKEN_" in key  # expired tokens too
            console.print(f"  {key}={'********' if secret else value}")
        console.print(
            f"\nIn another shell: [bold]set -a; . {env_file}; set +a; "
            f"{escape(_pytest_command())} -m smoke[/]\n"
            "Ctrl-C stops everything."
        )
        while not stop and proc.running:
            time.sleep(0.3)
    finally:
        code = proc.stop()
    console.print(f"sandbox stopped (exit {code})")


# the whole flow on the sandbox (parity/cli/demo.py)
app.command()(demo)
# capture -> infer (parity/cli/contracts.py)
app.command()(capture)
app.command()(contracts)
# the parity matrix (parity/cli/report.py)
app.command()(report)
# the rollout gate (parity/cli/gate.py) and the load run (parity/cli/load.py)
app.command()(gate)
app.command()(load)
# the OpenAPI document (parity/cli/openapi.py)
app.command()(openapi)
# stragglers of interrupted runs (parity/cli/cleanup.py)
app.command()(cleanup)
# try an input file before committing it (parity/cli/check.py)
app.command()(check)


def _pytest_command() -> str:
    """How to run this installation's pytest (a bare ``pytest`` may be another one)."""
    exe = Path(sys.executable)
    pytest_bin = exe.parent / "pytest"
    return str(pytest_bin) if pytest_bin.exists() else f"{exe} -m pytest"


def _debugging() -> bool:
    return _debug or os.environ.get("PARITY_DEBUG", "").strip().lower() in _TRUE


def _say(text: str) -> None:
    # one line; the message is text, not Rich markup ("[redacted:email]")
    err.print("[bold red]error:[/]", escape(redact_text(" ".join(text.split()))), soft_wrap=True)


def _drift_names() -> str:
    try:  # the sandbox is optional (a plain install has none): then it cannot drift either
        from sandbox.drift import DRIFTS
    except ImportError:
        return ""
    return ", ".join(sorted(DRIFTS))


def _flags_without_placeholder() -> None:
    # Typer's help shows a value type after every option, "<bool>" for a flag (--help
    # included): a flag takes no value, so it shows none.
    option = typer.core.TyperOption
    if getattr(option, "_parity_polished", False):
        return
    shown = option.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return "" if getattr(self, "is_flag", False) else shown(self, ctx)

    option.display_type_rich = display_type_rich  # type: ignore[method-assign]
    option._parity_polished = True  # type: ignore[attr-defined]


def command(argv: list[str] | None = None) -> Any:
    """The click command behind ``parity``, with its help polished: a flag shows no value
    placeholder (Typer prints ``<bool>``, which reads as "takes a value"), and, when help
    is asked for, ``sandbox --drift`` lists the drift names."""
    _flags_without_placeholder()
    group = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else argv
    if "sandbox" in args and any(a in ("--help", "-h") for a in args):
        names = _drift_names()
        sandbox_cmd = getattr(group, "commands", {}).get("sandbox")
        for param in getattr(sandbox_cmd, "params", []):
            if "--drift" in getattr(param, "opts", ()) and names:
                param.help = f"{param.help} (repeatable): one of {names}"
    return group


def main() -> None:
    try:
        command()(prog_name="parity")
    except ParityError as exc:
        if _debugging():
            raise
        _say(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: no bare traceback unless asked for
        if _debugging():
            raise
        _say(
            f"internal error ({type(exc).__name__}: {exc}). This is a bug in the suite: run "
            "again with --debug (or PARITY_DEBUG=1) for the traceback and report it"
        )
        sys.exit(InternalError.exit_code)


if __name__ == "__main__":
    main()
