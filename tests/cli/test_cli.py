"""The ``parity`` command as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
PARITY = [sys.executable, "-c", "from parity.cli.app import main; main()"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}


def test_help_lists_the_commands() -> None:
    out = subprocess.run(
        [*PARITY, "--help"], capture_output=True, text=True, check=True, cwd=ROOT, env=_env()
    ).stdout
    for command in ("sandbox", "demo"):
        assert command in out


def _help(*args: str) -> str:
    return subprocess.run(
        [*PARITY, *args, "--help"], capture_output=True, text=True, check=True, cwd=ROOT,
        env={**_env(), "COLUMNS": "200"},
    ).stdout  # fmt: skip


def test_help_reads_as_written() -> None:
    from sandbox.drift import DRIFTS

    assert "<bool>" not in _help() and "<bool>" not in _help("cleanup")
    cleanup = _help("cleanup")
    assert "the Express backend" in cleanup and "the serverless backend" in cleanup
    for command in ("cleanup", "check"):  # each summary is one sentence, not cut in two
        line = next(ln for ln in _help().splitlines() if f" {command} " in ln)
        assert line.rstrip(" │").endswith("."), line
    sandbox = " ".join(_help("sandbox").split())
    assert all(name in sandbox for name in DRIFTS), sandbox


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((parts.hostname or "", parts.port or 80)) == 0


def test_sandbox_prints_settings_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox.env"
    proc = subprocess.Popen(
        [*PARITY, "sandbox", "--env-file", str(env_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**_env(), "COLUMNS": "200"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C stops everything" in line or time.monotonic() > deadline:
            break
    text = "".join(lines)
    assert "sandbox ready" in text, text
    settings = dict(ln.strip().split("=", 1) for ln in lines if ln.strip().startswith("PARITY_"))
    # passwords are masked on screen (they are in the env file, for the suite to read)
    assert all(v == "********" for k, v in settings.items() if k.endswith("_PASSWORD"))
    urls = [settings["PARITY_EXPRESS_URL"], settings["PARITY_SERVERLESS_URL"]]
    assert all(_port_open(u) for u in urls)
    assert env_file.exists()

    try:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "sandbox stopped (exit 0)" in rest
    assert not any(_port_open(u) for u in urls)
    assert not env_file.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); it is gone for our purpose
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_sandbox_stops_itself_when_the_suite_is_killed(tmp_path: Path) -> None:
    """A run killed with SIGKILL cannot stop its sandbox; the sandbox notices and exits."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from parity.engine.launcher import SandboxProcess\n"
        f"p = SandboxProcess(Path({str(tmp_path / 'sb.env')!r}))\n"
        "env = p.start()\n"
        "print(p.pid, env['PARITY_EXPRESS_URL'], flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=_env()
    )
    assert parent.stdout is not None
    child_pid_s, url = parent.stdout.readline().split()
    child_pid = int(child_pid_s)
    try:
        assert _alive(child_pid) and _port_open(url)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 20
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(child_pid), "the sandbox outlived the killed suite"
        assert not _port_open(url)
    finally:
        if _alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)
