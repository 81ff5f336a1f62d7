"""The launcher: ``python -m sandbox`` end to end (env file, SANDBOX READY, clean exit on
SIGINT/SIGTERM, one-line startup errors), the in-process runner and the web app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from sandbox.launcher import SandboxRunner, build_parser, settings_from, write_env_file
from sandbox.settings import SandboxSettings

ROOT = Path(__file__).resolve().parents[3]
EXPECTED_KEYS = {
    "PARITY_EXPRESS_URL",
    "PARITY_SERVERLESS_URL",
    "PARITY_WEB_URL",
    "PARITY_TARGET_ENV",
    "PARITY_AUTH_MODE",
    "PARITY_COGNITO_ENDPOINT",
    "PARITY_COGNITO_REGION",
    "PARITY_COGNITO_USER_POOL_ID",
    "PARITY_COGNITO_CLIENT_ID",
    "PARITY_USERS",
    *(f"PARITY_USER_{r}_{k}" for r in ("ALICE", "BOB", "ADMIN") for k in ("USERNAME", "PASSWORD")),
    "PARITY_S3_ENDPOINT",
    "PARITY_S3_BUCKET",
    "PARITY_S3_REGION",
    "PARITY_SANDBOX_DRIFT",
    "PARITY_SANDBOX_PID",
}


def _sandbox_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env.update(extra)
    return env


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sandbox", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until_ready(proc: subprocess.Popen[str], timeout: float = 90.0) -> dict[str, str]:
    """KEY=value lines printed before SANDBOX READY (reader thread: no blocking forever)."""
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "SANDBOX READY":
                ready.set()
                return
            lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout):
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"no SANDBOX READY within {timeout} s; stderr:\n{err}")
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_python_m_sandbox_lifecycle(tmp_path: Path, sig: signal.Signals) -> None:
    env_file = tmp_path / "out" / "sandbox.env"
    started = time.monotonic()
    proc = _start(
        ["--env-file", str(env_file), "--drift", "status-code"],
        _sandbox_env(PARITY_SANDBOX_DRIFT="missing-endpoint"),
    )
    try:
        printed = _read_until_ready(proc)
        startup_s = time.monotonic() - started
        print(f"python -m sandbox: SANDBOX READY after {startup_s:.1f} s")
        assert startup_s < 60
        assert env_file.exists() and _env_file(env_file) == printed
        assert set(printed) >= EXPECTED_KEYS
        assert printed["PARITY_SANDBOX_PID"] == str(proc.pid)
        assert printed["PARITY_SANDBOX_DRIFT"] == "missing-endpoint,status-code"
        assert not list(env_file.parent.glob(".*.tmp"))  # the atomic write left no temp file
        for key in ("PARITY_EXPRESS_URL", "PARITY_SERVERLESS_URL", "PARITY_WEB_URL"):
            assert httpx.get(printed[key] + "/health", timeout=10).status_code == 200
        # --drift merged with PARITY_SANDBOX_DRIFT: the stats route is gone on serverless.
        stats = httpx.get(printed["PARITY_SERVERLESS_URL"] + "/api/mocs/stats", timeout=10)
        assert stats.status_code == 404 and stats.json() == {"message": "Not Found"}
        assert httpx.get(printed["PARITY_EXPRESS_URL"] + "/api/mocs/stats").status_code == 200
    finally:
        proc.send_signal(sig)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert not env_file.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(printed["PARITY_EXPRESS_URL"] + "/health", timeout=2)


def _run_failing(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert "SANDBOX READY" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_port_taken_is_one_line_naming_the_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _run_failing(
            ["--env-file", str(tmp_path / "x.env"), "--serverless-port", str(port)], _sandbox_env()
        )
    assert "--serverless-port" in line and str(port) in line
    assert not (tmp_path / "x.env").exists()


def test_bad_database_url_is_one_line_naming_it(tmp_path: Path) -> None:
    line = _run_failing(
        ["--env-file", str(tmp_path / "x.env")], _sandbox_env(DATABASE_URL="mysql://nope")
    )
    assert "DATABASE_URL" in line


def test_unknown_drift_is_one_line_listing_the_known_ones(tmp_path: Path) -> None:
    line = _run_failing(
        ["--env-file", str(tmp_path / "x.env"), "--drift", "no-such-drift"], _sandbox_env()
    )
    assert "no-such-drift" in line and "missing-endpoint" in line and "--drift" in line


def test_cli_options_override_env_twins() -> None:
    args = build_parser().parse_args(["--drift", "status-code", "--express-port", "9100"])
    environ = {
        "PARITY_SANDBOX_DRIFT": "missing-endpoint",
        "PARITY_SANDBOX_EXPRESS_PORT": "9000",
        "PARITY_SANDBOX_WEB_PORT": "9200",
    }
    settings = settings_from(args, environ)
    assert settings.drifts == {"missing-endpoint", "status-code"}
    assert (settings.express_port, settings.serverless_port, settings.web_port) == (9100, 0, 9200)
    with pytest.raises(ValueError, match="PARITY_SANDBOX_WEB_PORT"):
        settings_from(build_parser().parse_args([]), {"PARITY_SANDBOX_WEB_PORT": "web"})


def test_write_env_file_is_atomic_and_complete(tmp_path: Path) -> None:
    target = tmp_path / "sandbox.env"
    target.write_text("OLD=1\n")
    write_env_file(target, {"A": "1", "B": "x=y"})
    assert target.read_text() == "A=1\nB=x=y\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.env"]


def test_in_process_runner_leaves_no_thread_behind(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    env_file = tmp_path / "inproc.env"
    with SandboxRunner(SandboxSettings(), env_file) as runner:
        assert env_file.exists()
        assert httpx.get(runner.serverless_url + "/health").status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [t for t in set(threading.enumerate()) - before if t.is_alive()]
        if not left:
            break
        time.sleep(0.1)
    assert not left, left
    assert not env_file.exists()


def test_web_app_serves_runtime_config(sandbox: SandboxRunner) -> None:
    response = httpx.get(sandbox.web_url + "/config.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "max-age=60"
    assert response.json() == {
        "apiBaseUrl": sandbox.serverless_url,
        "useServerless": True,
        "cognitoConfig": {
            "userPoolId": sandbox.env["PARITY_COGNITO_USER_POOL_ID"],
            "clientId": sandbox.env["PARITY_COGNITO_CLIENT_ID"],
            "region": "us-east-1",
            "endpoint": sandbox.env["PARITY_COGNITO_ENDPOINT"],  # moto, called by the browser
        },
        "directUploadMaxBytes": 4 * 1024 * 1024,
    }
    page = httpx.get(sandbox.web_url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_the_web_apps_origin_may_call_both_backends(sandbox: SandboxRunner) -> None:
    for base in (sandbox.express_url, sandbox.serverless_url):
        response = httpx.options(
            base + "/api/mocs",
            headers={"Origin": sandbox.web_url, "Access-Control-Request-Method": "GET"},
        )
        assert response.headers["access-control-allow-origin"] == sandbox.web_url
