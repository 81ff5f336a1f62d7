"""Start and stop the json-server outside pair on loopback.

Reference: ``json-server`` 0.17.4 (npm, Express). Candidate: ``json-server-py`` 0.1.11
(PyPI, aiohttp). Both are installed by ``examples/json-server/install.sh`` under
``.outside/`` (``PARITY_OUTSIDE_DIR`` moves it); each serves its own copy of the seed
``examples/json-server/db.json``, since both write their file back after every change.

In code::

    with json_server_pair() as pair:
        pair.express_url, pair.serverless_url

For a human with curl (prints the URLs, Ctrl-C stops both)::

    python -m tests.outside.json_server [--install] [--express-port N] [--serverless-port N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EXAMPLE_DIR",
    "INSTALL_SCRIPT",
    "SEED",
    "JsonServerPair",
    "PairError",
    "candidate_command",
    "install",
    "installed",
    "json_server_pair",
    "missing",
    "reference_command",
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = ROOT / "examples" / "json-server"
SEED = EXAMPLE_DIR / "db.json"
INSTALL_SCRIPT = EXAMPLE_DIR / "install.sh"
HOST = "127.0.0.1"  # loopback only, never 0.0.0.0
START_TIMEOUT = 30.0


class PairError(RuntimeError):
    """A server of the pair could not be started (the message has its log's tail)."""


def _outside_dir() -> Path:
    return Path(os.environ.get("PARITY_OUTSIDE_DIR") or ROOT / ".outside")


def _reference_bin() -> Path:
    # The JS entry point itself, run by node: no npx, no shell wrapper between us and the
    # process we stop.
    return (
        _outside_dir() / "json-server" / "node_modules" / "json-server" / "lib" / "cli" / "bin.js"
    )


def _candidate_bin() -> Path:
    return _outside_dir() / "json-server-py" / "venv" / "bin" / "json-server"


def missing() -> list[str]:
    """What the install script has not installed yet (empty: both are there)."""
    gaps = []
    if not _reference_bin().is_file():
        gaps.append(f"json-server 0.17.4 ({_reference_bin()})")
    if not os.access(_candidate_bin(), os.X_OK):
        gaps.append(f"json-server-py 0.1.11 ({_candidate_bin()})")
    if shutil.which("node") is None:
        gaps.append("node (Node.js) on PATH")
    return gaps


def installed() -> bool:
    return not missing()


def install(quiet: bool = False) -> None:
    """Run the (idempotent) install script; raises CalledProcessError if it fails."""
    subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def reference_command(db: Path, port: int) -> list[str]:
    # No --watch: the file is ours alone. --host pins loopback (json-server's default is
    # "localhost", which may resolve to ::1 as well).
    node = shutil.which("node") or "node"
    return [node, str(_reference_bin()), str(db), "--port", str(port), "--host", HOST]


def candidate_command(db: Path, port: int) -> list[str]:
    # json_server/cli.py: one option, --bind host:port, and the file as the argument.
    # (With 0.0.0.0 its banner would open a UDP socket to a public address to learn the
    # host's IP; 127.0.0.1 never does.)
    return [str(_candidate_bin()), "--bind", f"{HOST}:{port}", str(db)]


@dataclass(frozen=True)
class JsonServerPair:
    express_url: str
    serverless_url: str
    workdir: Path
    express_db: Path
    serverless_db: Path
    express_log: Path
    serverless_log: Path

    def env(self) -> dict[str, str]:
        return {
            "PARITY_EXPRESS_URL": self.express_url,
            "PARITY_SERVERLESS_URL": self.serverless_url,
        }


@dataclass
class _Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start(name: str, command: Sequence[str], cwd: Path, log: Path, port: int) -> _Server:
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,  # json-server reads ./json-server.json and ./public from its cwd
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl-C in the terminal reaches us, and we stop it.
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "FORCE_COLOR": "0", "NO_COLOR": "1"},
        )
    return _Server(name, process, f"http://{HOST}:{port}", log)


def _wait_ready(server: _Server, deadline: float) -> None:
    while True:
        if server.process.poll() is not None:
            raise PairError(
                f"{server.name} exited with {server.process.returncode} before answering "
                f"at {server.url}; its log ({server.log}):\n{_log_tail(server.log)}"
            )
        try:
            # Any HTTP answer will do: the point is that it listens and speaks HTTP.
            with urllib.request.urlopen(server.url + "/profile", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise PairError(
                f"{server.name} did not answer at {server.url} within {START_TIMEOUT:.0f} s; "
                f"its log ({server.log}):\n{_log_tail(server.log)}"
            )
        time.sleep(0.1)


def _stop(server: _Server) -> None:
    process = server.process
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def json_server_pair(
    seed: Path = SEED,
    *,
    express_port: int = 0,
    serverless_port: int = 0,
    workdir: Path | None = None,
) -> Iterator[JsonServerPair]:
    """Both servers up on loopback, each on a fresh copy of ``seed``; both stopped on exit,
    also when the block raises. Port 0 picks a free one. ``workdir`` (default: a new temp
    dir, removed after) keeps the db copies and the logs."""
    if gaps := missing():
        raise PairError(
            "not installed: " + "; ".join(gaps) + f". Run: bash {INSTALL_SCRIPT.relative_to(ROOT)}"
        )
    own_dir = workdir is None
    base = Path(tempfile.mkdtemp(prefix="json-server-pair-")) if workdir is None else workdir
    servers: list[_Server] = []
    try:
        layout = {}
        for name in ("express", "serverless"):
            sub = base / name
            sub.mkdir(parents=True, exist_ok=True)
            db = sub / "db.json"
            shutil.copyfile(seed, db)
            layout[name] = (sub, db, base / f"{name}.log")
        ports = {
            "express": express_port or free_port(),
            "serverless": serverless_port or free_port(),
        }
        sub, db, log = layout["express"]
        servers.append(
            _start(
                "json-server 0.17.4",
                reference_command(db, ports["express"]),
                sub,
                log,
                ports["express"],
            )
        )
        sub, db, log = layout["serverless"]
        servers.append(
            _start(
                "json-server-py 0.1.11",
                candidate_command(db, ports["serverless"]),
                sub,
                log,
                ports["serverless"],
            )
        )
        deadline = time.monotonic() + START_TIMEOUT
        for server in servers:
            _wait_ready(server, deadline)
        yield JsonServerPair(
            express_url=servers[0].url,
            serverless_url=servers[1].url,
            workdir=base,
            express_db=layout["express"][1],
            serverless_db=layout["serverless"][1],
            express_log=servers[0].log,
            serverless_log=servers[1].log,
        )
    finally:
        for server in servers:
            _stop(server)
        if own_dir:
            shutil.rmtree(base, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.outside.json_server",
        description="Start json-server 0.17.4 (reference) and json-server-py 0.1.11 "
        "(candidate) on loopback, each on a fresh copy of the seed, until Ctrl-C.",
    )
    parser.add_argument("--install", action="store_true", help="run install.sh first")
    parser.add_argument("--express-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--serverless-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--seed", type=Path, default=SEED, help="the db.json to copy")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep db copies and logs here (default: temp)"
    )
    args = parser.parse_args(argv)
    if args.install:
        install()
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        with json_server_pair(
            args.seed,
            express_port=args.express_port,
            serverless_port=args.serverless_port,
            workdir=args.workdir,
        ) as pair:
            for key, value in pair.env().items():
                print(f"{key}={value}")
            print(f"# logs: {pair.express_log} {pair.serverless_log}")
            print("PAIR READY", flush=True)
            while not stop:
                time.sleep(0.2)
    except PairError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
