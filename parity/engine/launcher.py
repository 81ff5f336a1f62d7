"""Start and stop the embedded sandbox (``python -m sandbox``) as a child process.

The plugin and the CLI both use this: one child process, one PID to stop, so a Ctrl-C or a
crashed test run leaves nothing listening behind.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Self

from parity.core.errors import InternalError, UsageError
from parity.core.extras import require_extra
from parity.engine.closing import Closing

if TYPE_CHECKING:
    from rich.console import Console

    from parity.core.config import Settings

__all__ = ["READY_LINE", "SandboxProcess", "require_sandbox", "runtime_dir", "sandbox_unless"]

READY_LINE = "SANDBOX READY"


def runtime_dir() -> Path:
    """The sandbox's private runtime directory (its env files live there)."""
    from sandbox.settings import runtime_dir as sandbox_runtime_dir  # stdlib only

    return sandbox_runtime_dir()


def require_sandbox() -> None:
    """A one-line :class:`UsageError` (exit 2) when the sandbox's servers are not installed
    (the plain ``pip install moc-parity`` has none), before any child starts."""
    require_extra(
        "sandbox",
        "the embedded sandbox",
        otherwise=", or give the backends' URLs instead (--express-url and --serverless-url, "
        "or PARITY_EXPRESS_URL and PARITY_SERVERLESS_URL)",
    )


class SandboxProcess(Closing):
    """A running ``python -m sandbox``; use as a context manager or call start()/stop().

    The env file it writes holds the test users' passwords, so by default it goes to the
    private runtime dir (:func:`runtime_dir`, mode 0700, file 0600) under a name of its
    own; give ``log_file`` under ``reports/`` to keep the sandbox's log with the reports.
    """

    def __init__(
        self,
        env_file: Path | None = None,
        *,
        drifts: Iterable[str] = (),
        extra_env: Mapping[str, str] | None = None,
        log_file: Path | None = None,
        production: bool = False,
    ) -> None:
        if env_file is None:  # unique: concurrent runs share the runtime dir
            env_file = runtime_dir() / f"sandbox-{os.getpid()}-{secrets.token_hex(3)}.env"
        self.env_file = Path(env_file)
        self.drifts = tuple(d for d in drifts if d)
        self.extra_env = dict(extra_env or {})
        self.log_file = log_file or self.env_file.with_suffix(".log")
        self.production = production
        self.env: dict[str, str] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._ready = threading.Event()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 90.0) -> dict[str, str]:
        require_sandbox()
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "sandbox", "--env-file", str(self.env_file)]
        for drift in self.drifts:
            cmd += ["--drift", drift]
        if self.production:
            cmd.append("--production")
        env = {
            **os.environ,
            **self.extra_env,
            "PYTHONUNBUFFERED": "1",
            # the sandbox stops by itself if we die without stopping it (SIGKILL, crash)
            "PARITY_SANDBOX_PARENT_PID": str(os.getpid()),
        }
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("w", encoding="utf-8")
        self._proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,  # our Ctrl-C is handled by stop(), not delivered twice
        )
        log.close()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            # Ctrl-C or an error while starting: never leave a half-started sandbox behind
            self.stop()
            raise
        for line in self._lines:
            key, sep, value = line.partition("=")
            if sep and key.isupper():
                self.env[key] = value
        return self.env

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self._proc.poll() is not None:
                raise UsageError(
                    f"the embedded sandbox exited with code {self._proc.returncode} before it "
                    f"was ready: {self._tail()}. See {self.log_file} for its log"
                )
            if time.monotonic() > deadline:
                raise InternalError(
                    f"the embedded sandbox was not ready after {timeout:.0f} s; see {self.log_file}"
                )

    def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.rstrip("\n")
            if line == READY_LINE:
                self._ready.set()
            elif not self._ready.is_set():
                self._lines.append(line)

    def _tail(self) -> str:
        try:
            lines = self.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "no log"
        meaningful = [ln for ln in lines if ln.strip()]
        return meaningful[-1] if meaningful else "no output"

    def stop(self, timeout: float = 20.0) -> int | None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait(5)

    def close(self) -> None:
        """Stop the sandbox (the end of a ``with`` block)."""
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self


@contextmanager
def sandbox_unless(
    has_target: bool, settings: Settings, log_file: Path, console: Console | None = None
) -> Iterator[Settings]:
    """``settings`` as they are when ``has_target``; else pointing at an embedded sandbox
    started for the block (with a spinner on ``console``) and stopped after it."""
    if has_target:
        yield settings
        return
    sandbox = SandboxProcess(log_file=log_file)
    starting = "no backend URL given: starting the embedded sandbox..."
    with console.status(starting) if console is not None else nullcontext():
        env = sandbox.start()
    try:
        yield settings.with_env(env)
    finally:
        sandbox.stop()
