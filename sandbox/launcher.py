"""Start the whole sandbox in one process: infrastructure, both flavours, the web app.

``SandboxRunner`` is the in-process API (tests start one per session); :func:`main` is
``python -m sandbox``: it adds the CLI, the env file, ``SANDBOX READY`` and clean exits
on SIGINT/SIGTERM.  Ports are bound before anything else starts, so a taken port is
reported at once, naming the option to change.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import httpx
import uvicorn

from sandbox.core.identity import get_id_token, mint_expired_token
from sandbox.core.infra import Infrastructure, start_infrastructure
from sandbox.core.service import Application
from sandbox.cors import CorsPolicy
from sandbox.drift import DRIFTS, Drifts
from sandbox.express import create_express_app
from sandbox.gateway import FaultTally, create_gateway_app
from sandbox.lambdas import make_handler
from sandbox.settings import SandboxSettings, runtime_dir
from sandbox.web import create_web_app

__all__ = [
    "DEFAULT_ENV_FILE_NAME",
    "AppServer",
    "SandboxRunner",
    "StartupError",
    "bind_port",
    "build_parser",
    "main",
    "settings_from",
    "write_env_file",
]

#: The env file holds the test users' passwords: a private directory, never reports/.
DEFAULT_ENV_FILE_NAME = "sandbox.env"
READY_LINE = "SANDBOX READY"
_READY_TIMEOUT_S = 30.0

# (settings attribute, CLI option, env twin): named together in startup errors
_PORTS = (
    ("express_port", "--express-port", "PARITY_SANDBOX_EXPRESS_PORT"),
    ("serverless_port", "--serverless-port", "PARITY_SANDBOX_SERVERLESS_PORT"),
    ("web_port", "--web-port", "PARITY_SANDBOX_WEB_PORT"),
)


class StartupError(Exception):
    """The sandbox cannot start; ``setting`` names what to change."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting


class AppServer:
    """One uvicorn server on a pre-bound socket (see :func:`bind_port`), in a daemon thread."""

    def __init__(self, name: str, app: Any, sock: socket.socket) -> None:
        self.name = name
        self.sock = sock
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",  # one HTTP stack everywhere; h11 drains unread bodies after a 413
            ws="none",
            server_header=False,  # neither Express nor API Gateway sends "server: uvicorn"
            timeout_graceful_shutdown=3,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{name}", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def wait_started(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise StartupError(f"{self.name} server", "did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.sock.close()


def bind_port(host: str, port: int, setting: str) -> socket.socket:
    """A listening socket; a taken port is a ``StartupError`` naming ``setting``."""
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted connections whose
    # proto is IPPROTO_TCP; with proto 0 Nagle meets delayed ACKs and every response waits
    # ~40 ms (uvicorn writes headers and body separately).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # SO_REUSEADDR skips TIME_WAIT leftovers of a previous run but still fails on a port
    # someone is listening on, which is the error we want to report.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(512)
    except OSError as exc:
        sock.close()
        raise StartupError(setting, f"cannot listen on {host}:{port} ({exc.strerror})") from None
    sock.setblocking(False)
    return sock


class SandboxRunner:
    """The sandbox in this process: ``start()``, read ``env`` / the URLs, ``stop()``."""

    def __init__(self, settings: SandboxSettings | None = None, env_file: Path | None = None):
        self.settings = settings or SandboxSettings()
        self.env_file = env_file
        self.env: dict[str, str] = {}
        self.infra: Infrastructure | None = None
        #: what the serverless gateway's latency/error-rate knobs did (set by start())
        self.faults: FaultTally | None = None
        self._socks: list[socket.socket] = []
        self._servers: list[AppServer] = []
        self._wrote_env_file = False

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> dict[str, str]:
        try:
            drifts = Drifts(self.settings.drifts)
        except ValueError as exc:
            raise StartupError("--drift/PARITY_SANDBOX_DRIFT", str(exc)) from None
        try:
            self._start(drifts)
        except BaseException:
            self.stop()
            raise
        return self.env

    def _start(self, drifts: Drifts) -> None:
        s = self.settings
        for attr, opt, env in _PORTS:  # stop() closes what was bound if a later one fails
            self._socks.append(bind_port(s.host, int(getattr(s, attr)), f"{opt}/{env}"))
        express_sock, gateway_sock, web_sock = self._socks
        urls = [f"http://{s.host}:{sock.getsockname()[1]}" for sock in self._socks]
        express_url, serverless_url, web_url = urls
        try:
            self.infra = start_infrastructure(s)
        except Exception as exc:
            raise StartupError(_setting_of(exc), _first_line(exc)) from exc
        infra = self.infra
        web_port = web_sock.getsockname()[1]
        # The SPA's own origin must be allowed, or the browser tests cannot call the APIs.
        cors = CorsPolicy.with_extra([web_url, f"http://localhost:{web_port}"])
        # The latency/error-rate knobs degrade the serverless flavour only, at the gateway
        # (500 in the gateway's shape), so the cores run without them.
        core = replace(s, latency_ms=0, error_rate=0.0)
        express = create_express_app(
            Application("express", infra, core), infra.verifier, core, cors=cors
        )
        handler = make_handler(Application("serverless", infra, core), drifts)
        gateway = create_gateway_app(handler, infra.verifier, s, drifts, cors=cors)
        self.faults = gateway.state.faults
        web = create_web_app(s, serverless_url, express_url, infra.pool)
        self._servers = [
            AppServer("express", express, express_sock),
            AppServer("gateway", gateway, gateway_sock),
            AppServer("web", web, web_sock),
        ]
        for server in self._servers:
            server.start()
        for server in self._servers:
            _wait_healthy(server)
        self.env = self._environment(express_url, serverless_url, web_url, drifts)
        if self.env_file is not None:
            write_env_file(self.env_file, self.env)
            self._wrote_env_file = True

    def stop(self) -> None:
        """Stop servers and infrastructure, remove the env file; safe to call twice."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.server.should_exit = True  # all at once: shutdowns overlap
        for server in servers:
            server.stop()
        socks, self._socks = self._socks, []
        for sock in socks:
            sock.close()  # idempotent; covers sockets no server took over
        infra, self.infra = self.infra, None
        if infra is not None:
            infra.stop()
        if self._wrote_env_file and self.env_file is not None:
            self.env_file.unlink(missing_ok=True)
            self._wrote_env_file = False

    def __enter__(self) -> SandboxRunner:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what it exposes --------------------------------------------------------------

    @property
    def express_url(self) -> str:
        return self.env["PARITY_EXPRESS_URL"]

    @property
    def serverless_url(self) -> str:
        return self.env["PARITY_SERVERLESS_URL"]

    @property
    def web_url(self) -> str:
        return self.env["PARITY_WEB_URL"]

    def _environment(
        self, express_url: str, serverless_url: str, web_url: str, drifts: Drifts
    ) -> dict[str, str]:
        assert self.infra is not None
        infra, s = self.infra, self.settings
        env = {
            "PARITY_EXPRESS_URL": express_url,
            "PARITY_SERVERLESS_URL": serverless_url,
            "PARITY_WEB_URL": web_url,
            "PARITY_TARGET_ENV": "sandbox",
            "PARITY_AUTH_MODE": "cognito",
            "PARITY_COGNITO_ENDPOINT": infra.moto_url,
            "PARITY_COGNITO_REGION": s.region,
            "PARITY_COGNITO_USER_POOL_ID": infra.pool.pool_id,
            "PARITY_COGNITO_CLIENT_ID": infra.pool.client_id,
            "PARITY_USERS": ",".join(infra.pool.users),
        }
        for role, (username, password) in infra.pool.users.items():
            env[f"PARITY_USER_{role.upper()}_USERNAME"] = username
            env[f"PARITY_USER_{role.upper()}_PASSWORD"] = password
        if not s.production:
            # Test-only: an IdToken signed by the pool but expired, per role, so the auth
            # checks can test the "expired token" 401 (absent in production, as it would be
            # on a real deployment unless someone supplies one).
            for role in infra.pool.users:
                expired = mint_expired_token(get_id_token(infra.pool, role))
                env[f"PARITY_EXPIRED_TOKEN_{role.upper()}"] = expired
        env["PARITY_S3_ENDPOINT"] = infra.moto_url
        env["PARITY_S3_BUCKET"] = s.bucket
        env["PARITY_S3_REGION"] = s.region
        env["PARITY_REDIS_URL"] = infra.redis_url
        env["PARITY_SANDBOX_DRIFT"] = ",".join(drifts.names)
        env["PARITY_SANDBOX_PID"] = str(os.getpid())
        return env


def _setting_of(exc: Exception) -> str:
    """The setting an infrastructure error is most likely about, for the error line."""
    text, module = str(exc), type(exc).__module__
    for name in ("DATABASE_URL", "REDIS_URL"):
        if name in text:
            return name
    if module.startswith(("sqlalchemy", "psycopg")):
        return "DATABASE_URL"
    if module.startswith("redis"):
        return "REDIS_URL"
    return "sandbox infrastructure"


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()


def _wait_healthy(server: AppServer) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    last = "not started"
    while time.monotonic() < deadline:
        if not server.thread.is_alive():
            raise StartupError(f"{server.name} server", "stopped during startup")
        if server.server.started:
            try:
                response = httpx.get(server.url + "/health", timeout=5.0)
                if response.status_code == 200:
                    return
                last = f"/health answered {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"/health failed: {exc}"
        time.sleep(0.05)
    raise StartupError(
        f"{server.name} server", f"not healthy after {_READY_TIMEOUT_S:.0f} s: {last}"
    )


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write ``KEY=value`` lines atomically: readers see the old file or the whole new one.

    Mode 0600 (``mkstemp``'s): the lines include the test users' passwords."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(f"{key}={value}\n" for key, value in env.items())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- python -m sandbox ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Start the embedded sandbox: Express flavour, serverless flavour "
        "(Lambda handlers behind a local API Gateway), web app, moto, cache and database.",
        epilog="Known drifts: " + "; ".join(f"{k} ({v})" for k, v in DRIFTS.items()),
    )
    p.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="where to write the KEY=value lines, mode 0600 (env PARITY_SANDBOX_ENV_FILE, "
        f"default {DEFAULT_ENV_FILE_NAME} in the private runtime dir: PARITY_RUNTIME_DIR, "
        "$XDG_RUNTIME_DIR/parity or <tmp>/parity-<uid>)",
    )
    p.add_argument(
        "--drift",
        action="append",
        default=[],
        metavar="NAME",
        help="make the serverless flavour diverge (repeatable; merged with PARITY_SANDBOX_DRIFT)",
    )
    for attr, opt, env in _PORTS:
        p.add_argument(
            opt, dest=attr, type=int, default=None, metavar="N", help=f"env {env}; 0 = free port"
        )
    p.add_argument(
        "--production",
        action="store_true",
        default=None,
        help="hide X-Debug-Fault and /debug/* (env PARITY_SANDBOX_PRODUCTION)",
    )
    return p


def settings_from(args: argparse.Namespace, environ: dict[str, str]) -> SandboxSettings:
    """SandboxSettings from the environment, overridden by the command line."""
    settings = SandboxSettings.from_env(environ)
    changes: dict[str, Any] = {}
    for attr, _opt, env in _PORTS:
        value = getattr(args, attr)
        if value is None and environ.get(env, "").strip():
            try:
                value = int(environ[env])
            except ValueError:
                raise ValueError(f"{env}={environ[env]!r} is not a port number") from None
        if value is not None:
            if not 0 <= value <= 65535:
                raise ValueError(f"{_opt}/{env}: {value} is not a port number (0-65535)")
            changes[attr] = value
    extra = {d.strip() for arg in args.drift for d in arg.split(",") if d.strip()}
    if extra:
        changes["drifts"] = frozenset(settings.drifts | extra)
    if args.production:
        changes["production"] = True
    return replace(settings, **changes)


def _parent_pid(environ: dict[str, str]) -> int | None:
    """``PARITY_SANDBOX_PARENT_PID``: the process whose death should stop the sandbox."""
    raw = environ.get("PARITY_SANDBOX_PARENT_PID", "")
    return int(raw) if raw.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    environ = dict(os.environ)
    try:
        settings = settings_from(args, environ)
    except ValueError as exc:
        print(f"sandbox: error: {exc}", file=sys.stderr, flush=True)
        return 2
    given = args.env_file or environ.get("PARITY_SANDBOX_ENV_FILE")
    env_file = Path(given) if given else runtime_dir(environ) / DEFAULT_ENV_FILE_NAME

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Installed before starting: a Ctrl-C during startup stops cleanly once started.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    runner = SandboxRunner(settings, env_file)
    try:
        started = time.monotonic()
        try:
            env = runner.start()
        except StartupError as exc:
            print(f"sandbox: error: {exc}", file=sys.stderr, flush=True)
            return 2
        for key, value in env.items():
            print(f"{key}={value}")
        print(READY_LINE, flush=True)
        # stdout stays machine-readable (KEY=value, READY); the human note goes to stderr
        took = time.monotonic() - started
        print(f"sandbox: ready in {took:.1f} s, env file {env_file}", file=sys.stderr, flush=True)
        parent = _parent_pid(environ)
        while not stop.wait(0.5):
            if parent is not None and not _alive(parent):
                # The suite that started us is gone (SIGKILL, crash): nobody will send the
                # SIGINT, so stop on our own instead of leaving servers behind.
                print("sandbox: parent process gone; stopping", file=sys.stderr, flush=True)
                break
        return 0
    finally:
        runner.stop()
        knobs = settings.latency_ms or settings.error_rate
        if knobs and runner.faults is not None:  # what the knobs did, for the log
            print(f"sandbox: {runner.faults.summary(settings)}", file=sys.stderr, flush=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
