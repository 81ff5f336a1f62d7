"""``scripts/ensure-services.sh`` probes the servers ``DATABASE_URL`` and ``REDIS_URL`` name,
not 127.0.0.1:5432 / 6379 whatever they say: a URL on a closed port fails the real-services
pass, naming that URL (password masked) and the fix, and never prints the OK line.

The machine's real services are left alone: every URL here points at a loopback port this
test owns (a listening socket) or has just freed, never at 5432 / 6379, and ``pg_ctlcluster``
and ``redis-server`` on ``PATH`` are fakes that record a call, so a start attempt shows
instead of happening. The env file goes to a temp dir (``PARITY_SERVICES_ENV``), run from a
temp working dir, so the repo's ``reports/`` is untouched.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "ensure-services.sh"
STARTERS = ("pg_ctlcluster", "redis-server")
PASSWORD = "s3cret-Pw"
OK_LINE = "real-services pass: DATABASE_URL="


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    env_file: Path
    started: list[str]  # the fake starters that were called


RunScript = Callable[..., Run]  # run_script(DATABASE_URL=..., REDIS_URL=...)


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port something listens on (the kernel completes the connect from the
    backlog; nothing needs to accept)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def closed() -> int:
    """A loopback port nothing listens on: one the kernel just handed out and we let go."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def run_script(tmp_path: Path) -> Iterator[RunScript]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "starter-calls"
    for name in STARTERS:
        fake = bin_dir / name
        fake.write_text(f'#!/bin/sh\necho {name} >> "{calls}"\nexit 1\n')
        fake.chmod(0o755)
    env_file = tmp_path / "out" / "services.env"

    def run(**urls: str) -> Run:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(urls, PATH=f"{bin_dir}:{env['PATH']}", PARITY_SERVICES_ENV=str(env_file))
        done = subprocess.run(
            ["bash", str(SCRIPT)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        started = calls.read_text().split() if calls.exists() else []
        return Run(done.returncode, done.stdout, done.stderr, env_file, started)

    yield run
    assert not (tmp_path / "reports").exists(), "the script wrote into the working dir"


def shell(function: str, *args: str) -> subprocess.CompletedProcess[str]:
    """One of the script's functions, the script sourced (its main does not run)."""
    return subprocess.run(
        ["bash", "-c", f'source "{SCRIPT}" && {function} "$@"', "_", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_closed_database_url_fails_naming_it(
    run_script: RunScript, listening: int, closed: int
) -> None:
    run = run_script(
        DATABASE_URL=f"postgresql://parity:{PASSWORD}@127.0.0.1:{closed}/test",
        REDIS_URL=f"redis://127.0.0.1:{listening}/0",
    )

    assert run.returncode != 0
    assert f"postgresql://parity:***@127.0.0.1:{closed}/test" in run.stderr
    assert f"127.0.0.1:{closed}" in run.stderr and "Fix:" in run.stderr
    assert "REDIS_URL=redis" not in run.stderr  # the reachable one is not blamed
    assert OK_LINE not in run.stdout + run.stderr
    assert PASSWORD not in run.stdout + run.stderr
    assert not run.env_file.exists()
    assert run.started == []  # not the local default: nothing to start


def test_a_closed_redis_url_fails_naming_it(
    run_script: RunScript, listening: int, closed: int
) -> None:
    run = run_script(
        DATABASE_URL=f"postgresql+psycopg://parity@127.0.0.1:{listening}/test",
        REDIS_URL=f"rediss://:{PASSWORD}@127.0.0.1:{closed}/0",
    )

    assert run.returncode != 0
    assert f"rediss://:***@127.0.0.1:{closed}/0" in run.stderr
    assert "Fix:" in run.stderr
    assert "DATABASE_URL=postgresql" not in run.stderr
    assert OK_LINE not in run.stdout + run.stderr
    assert PASSWORD not in run.stdout + run.stderr
    assert not run.env_file.exists()
    assert run.started == []


def test_reachable_urls_pass_and_are_written(run_script: RunScript, listening: int) -> None:
    db_url = f"postgresql://parity:{PASSWORD}@localhost:{listening}/test"
    redis_url = f"redis://127.0.0.1:{listening}/0"
    run = run_script(DATABASE_URL=db_url, REDIS_URL=redis_url)

    assert run.returncode == 0, run.stderr
    assert OK_LINE in run.stdout and PASSWORD not in run.stdout
    assert run.env_file.read_text() == f"DATABASE_URL={db_url}\nREDIS_URL={redis_url}\n"
    assert run.started == []


def test_an_ipv6_url_is_probed_there(run_script: RunScript, listening: int) -> None:
    try:
        server = socket.socket(socket.AF_INET6)
        server.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with server:
        server.listen(8)
        port = server.getsockname()[1]
        db_url = f"postgresql://parity@127.0.0.1:{listening}/test"
        assert run_script(DATABASE_URL=db_url, REDIS_URL=f"redis://[::1]:{port}/0").returncode == 0
    failed = run_script(DATABASE_URL=db_url, REDIS_URL=f"redis://[::1]:{port}/0")  # now closed
    assert failed.returncode != 0
    assert f"nothing listens at [::1]:{port}, the Redis of REDIS_URL=redis://[::1]:{port}/0" in (
        failed.stderr
    )


def test_a_url_of_the_wrong_kind_is_refused(run_script: RunScript) -> None:
    run = run_script(DATABASE_URL="mysql://u:pw@127.0.0.1:1/db", REDIS_URL="http://127.0.0.1:1")

    assert run.returncode != 0
    assert "DATABASE_URL=mysql://u:***@127.0.0.1:1/db is not a PostgreSQL URL" in run.stderr
    assert "REDIS_URL=http://127.0.0.1:1 is not a Redis URL" in run.stderr
    assert run.started == []


@pytest.mark.parametrize(
    ("url", "default", "expected"),
    [
        ("postgresql://user@db.example:6543/app", "5432", "db.example 6543"),
        ("postgresql+psycopg://u:p@10.0.0.5:5433/app?sslmode=require", "5432", "10.0.0.5 5433"),
        ("postgres://u:p@db.example/app", "5432", "db.example 5432"),  # no port: the default
        ("postgresql:///app", "5432", "127.0.0.1 5432"),  # libpq's local form
        ("postgresql://u:p@w@rd@db.example:7000/app", "5432", "db.example 7000"),
        ("redis://cache.example:6380/0", "6379", "cache.example 6380"),
        ("rediss://:tok@cache.example/1", "6379", "cache.example 6379"),
        ("redis://[::1]:6390/0", "6379", "::1 6390"),
        ("redis://[::1]/0", "6379", "::1 6379"),
        ("postgresql://[2001:db8::7]:5440/app", "5432", "2001:db8::7 5440"),
    ],
)
def test_host_and_port_parsed_from_the_url(url: str, default: str, expected: str) -> None:
    done = shell("parse_host_port", url, default)
    assert (done.returncode, done.stdout.strip()) == (0, expected)


def test_a_port_that_is_not_a_number_does_not_parse() -> None:
    assert shell("parse_host_port", "postgresql://u@h:abc/db", "5432").returncode != 0


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://u:p@ss/w@h/db", "postgresql://u:***@h/db"),  # unencoded @ and /
        ("postgresql://h/db?user=u&password=pw&x=1", "postgresql://h/db?user=u&password=***&x=1"),
        ("postgresql://u@h:5432/db", "postgresql://u@h:5432/db"),
        ("redis://[::1]:6379/0", "redis://[::1]:6379/0"),
    ],
)
def test_passwords_are_masked(url: str, masked: str) -> None:
    assert shell("mask_url", url).stdout == masked


@pytest.mark.parametrize(
    ("host", "port", "local"),
    [
        ("127.0.0.1", "5432", True),
        ("localhost", "5432", True),
        ("127.0.0.1", "5433", False),
        ("db.example", "5432", False),
        ("::1", "5432", False),  # the servers it starts listen on 127.0.0.1 only
    ],
)
def test_only_the_local_default_may_be_started(host: str, port: str, local: bool) -> None:
    assert (shell("is_local_default", host, port, "5432").returncode == 0) is local
