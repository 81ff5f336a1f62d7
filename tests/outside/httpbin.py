"""Start and stop the httpbin outside pair on loopback.

The reference is ``httpbin`` 0.10.4 (Flask) under gunicorn, the candidate ``httpbinx``
1.13.1 (FastAPI) under uvicorn, each from its own venv made by
``examples/httpbin/install.sh``. Both bind 127.0.0.1 on a free port.

    with httpbin_pair() as pair:
        pair.express_url, pair.serverless_url

``python -m tests.outside.httpbin`` starts the pair, prints the URLs (and the environment
lines for the suite) and waits for Ctrl-C, for a human to curl.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EXAMPLE_DIR",
    "HttpbinPair",
    "Server",
    "httpbin_pair",
    "install",
    "start_server",
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "examples" / "httpbin"
INSTALL_SCRIPT = EXAMPLE_DIR / "install.sh"
HOST = "127.0.0.1"  # loopback only: nothing here may listen on another address
_START_TIMEOUT = 30.0


def outside_dir() -> Path:
    return Path(os.environ.get("PARITY_OUTSIDE_DIR") or ROOT / ".outside")


@dataclass(frozen=True)
class HttpbinPair:
    express_url: str  # httpbin (reference)
    serverless_url: str  # httpbinx (candidate)


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def install() -> None:
    """Run the idempotent install script (fast when both venvs are there)."""
    subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True)


def _free_port() -> int:
    # Bind, read, release: the server binds it a moment later. A clash (another process
    # taking the port meanwhile) shows as a server that exits, and start_server retries.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/get", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _command(name: str, port: int) -> list[str]:
    venvs = outside_dir()
    if name == "httpbin":
        # gthread keeps connections alive like uvicorn does; the default sync worker
        # closes every connection, a difference of the deployment, not of the API.
        return [
            str(venvs / "httpbin" / "venv" / "bin" / "gunicorn"),
            "--bind", f"{HOST}:{port}",
            "--worker-class", "gthread", "--workers", "1", "--threads", "8",
            "--access-logfile", "-",
            "httpbin:app",
        ]  # fmt: skip
    if name == "httpbinx":
        return [
            str(venvs / "httpbinx" / "venv" / "bin" / "uvicorn"),
            "--host", HOST, "--port", str(port),
            "httpbinx.main:app",
        ]  # fmt: skip
    raise ValueError(f"unknown server {name!r}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # Its own session: gunicorn's workers are in the same process group as its master.
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def start_server(name: str, log_dir: Path, attempts: int = 3) -> Server:
    """Start ``name`` (httpbin or httpbinx) on a free loopback port; return once it answers."""
    command = _command(name, 0)
    if not Path(command[0]).exists():
        raise RuntimeError(f"{command[0]} is missing: run {INSTALL_SCRIPT.relative_to(ROOT)}")
    last = ""
    for _ in range(attempts):
        port = _free_port()
        log = log_dir / f"{name}-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                _command(name, port),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=log_dir,  # not the repo: nothing of the suite is importable by accident
            )
        server = Server(name, f"http://{HOST}:{port}", process, log)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(server.url):
                return server
            time.sleep(0.1)
        last = server.log_tail()
        _stop(process)
    raise RuntimeError(f"{name} did not start in {attempts} attempts; last log:\n{last}")


def _stop_all(servers: list[Server]) -> None:
    for server in servers:
        _stop(server.process)


@contextmanager
def httpbin_pair(log_dir: Path | None = None) -> Iterator[HttpbinPair]:
    """Start httpbin and httpbinx, yield their URLs, stop both (also on an exception)."""
    with ExitStack() as stack:
        if log_dir is None:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="httpbin-")))
        servers: list[Server] = []
        stack.callback(_stop_all, servers)  # runs when the block exits, raised or not
        servers.append(start_server("httpbin", log_dir))
        servers.append(start_server("httpbinx", log_dir))
        yield HttpbinPair(servers[0].url, servers[1].url)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.outside.httpbin",
        description="Start httpbin (reference) and httpbinx (candidate) on loopback until Ctrl-C.",
    )
    parser.add_argument("--no-install", action="store_true", help="skip the install script")
    parser.add_argument("--log-dir", type=Path, help="keep the servers' logs here")
    args = parser.parse_args(argv)
    if not args.no_install:
        install()
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    # SIGTERM ends the wait like Ctrl-C does, so the servers are stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with httpbin_pair(args.log_dir) as pair:
        print(f"httpbin  (reference, express):   {pair.express_url}")
        print(f"httpbinx (candidate, serverless): {pair.serverless_url}")
        print(f"PARITY_EXPRESS_URL={pair.express_url}")
        print(f"PARITY_SERVERLESS_URL={pair.serverless_url}")
        print("PAIR READY (Ctrl-C stops both)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
