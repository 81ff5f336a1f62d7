"""The production guard, case by case, against a target marked production
(``PARITY_TARGET_ENV=production``) reached through recording proxies:

1. every check marked ``writes`` is refused without ``--allow-writes`` (skipped with the
   reason), and no write request reaches the target;
2. the test-only fault header (``X-Debug-Fault``) never reaches a production target, even
   with ``--allow-writes``: the client refuses it in one place and the fault checks are
   not-testable; the same checks against a non-production target do send it (the proxy
   sees it), so the recording is not vacuous;
3. a ``/debug/*`` route that answers on a production target fails the check; absent, it
   passes;
4. read-only checks still run there, ``--allow-writes`` lets a write check run (and its
   writes reach the target), and what production cannot offer (an expired token of the
   pool) is not-testable, never a pass.

Each test prints its case count (``-s``) for the issue's closing note.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.core.errors import GuardRefused
from parity.engine.client import BackendClient
from parity.engine.guard import refused_headers
from parity.engine.launcher import SandboxProcess
from tests.drift.checks import CheckRun, run_checks
from tests.hardening.recording_proxy import RecordingProxy

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "fixtures" / "catalog.yaml"
FAULT_HEADER = "x-debug-fault"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _pytest(env: dict[str, str], args: list[str], junit: Path) -> CheckRun:
    return run_checks(env, args, junit, qualified=True)


@dataclass
class Target:
    env: dict[str, str]
    express: RecordingProxy
    serverless: RecordingProxy

    @property
    def proxies(self) -> tuple[RecordingProxy, RecordingProxy]:
        return self.express, self.serverless

    def reset(self) -> None:
        for proxy in self.proxies:
            proxy.requests.clear()


def _target(tmp: Path, *, production_sandbox: bool, target_env: str) -> Iterator[Target]:
    with (
        SandboxProcess(log_file=tmp / "sandbox.log", production=production_sandbox) as sb,
        RecordingProxy(sb.env["PARITY_EXPRESS_URL"]) as express,
        RecordingProxy(sb.env["PARITY_SERVERLESS_URL"]) as serverless,
    ):
        env = {
            **sb.env,
            "PARITY_EXPRESS_URL": express.url,
            "PARITY_SERVERLESS_URL": serverless.url,
            "PARITY_TARGET_ENV": target_env,
            "PARITY_BACKEND": "both",
            "PARITY_REPORTS_DIR": str(tmp / "reports"),
        }
        yield Target(env, express, serverless)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A sandbox behaving like production (no /debug/*), marked production."""
    yield from _target(
        tmp_path_factory.mktemp("prod"), production_sandbox=True, target_env="production"
    )


@pytest.fixture(scope="module")
def staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A sandbox with its test-only hooks (``/debug/*``, the fault header)."""
    yield from _target(
        tmp_path_factory.mktemp("staging"), production_sandbox=False, target_env="staging"
    )


# --- 1. writes ------------------------------------------------------------------------------


def test_every_write_check_is_refused_without_allow_writes(
    production: Target, tmp_path: Path
) -> None:
    selection = ["api_checks", "contracts", "e2e", "-m", "writes"]
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "--collect-only", "-q", *selection],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PARITY_")},
            **production.env,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    ids = [ln for ln in collected.stdout.splitlines() if "::" in ln]
    assert len(ids) >= 50, collected.stdout[-2000:]  # the catalog has dozens of write cases
    production.reset()
    run = _pytest(production.env, selection, tmp_path / "junit.xml")
    assert run.returncode == 0, run.output[-3000:]
    assert len(run.outcomes) == len(ids), (len(run.outcomes), len(ids))
    not_refused = {
        k: o
        for k, o in run.outcomes.items()
        if o != "skipped"
        or "target is production" not in run.messages[k]
        or "--allow-writes" not in run.messages[k]
    }
    assert not not_refused, not_refused
    writes = [r for p in production.proxies for r in p.requests if r.method in WRITE_METHODS]
    assert writes == [], writes[:5]
    print(
        f"\nproduction guard, writes: {len(ids)} write checks tried, {len(ids)} refused, "
        f"0 write requests reached the target"
    )


# --- 2. the fault header --------------------------------------------------------------------

FAULT_CHECKS = ["api_checks/test_errors.py", "-k", "test_fault_header_gives_500"]


def test_fault_header_never_reaches_a_production_target(
    production: Target, staging: Target, tmp_path: Path
) -> None:
    # Control: a non-production target gets the header on every case (the proxy sees it).
    staging.reset()
    control = _pytest(staging.env, FAULT_CHECKS, tmp_path / "control.xml")
    cases = len(control.outcomes)
    assert cases >= 20, control.output[-2000:]
    sent = sum(len(p.with_header(FAULT_HEADER)) for p in staging.proxies)
    assert sent >= 2 * cases, (sent, cases)  # both backends, every case

    # Production, even with --allow-writes: refused before sending, never reaching it.
    production.reset()
    run = _pytest(production.env, ["--allow-writes", *FAULT_CHECKS], tmp_path / "prod.xml")
    assert run.returncode == 0, run.output[-3000:]
    assert len(run.outcomes) == cases, (run.outcomes, cases)
    for key, outcome in run.outcomes.items():
        assert outcome == "skipped", (key, outcome, run.messages.get(key))
        assert "not-testable" in run.messages[key], run.messages[key]
        assert "refuses to send" in run.messages[key], run.messages[key]
    reached = [r for p in production.proxies for r in p.with_header(FAULT_HEADER)]
    assert reached == [], reached[:3]
    # the runs did reach the target (set-ups and teardowns of the write endpoints)
    assert sum(len(p.requests) for p in production.proxies) > 0
    print(
        f"\nproduction guard, fault header: {cases} fault checks tried on production, "
        f"0 requests with X-Debug-Fault reached it ({sent} did reach the staging control)"
    )


def test_client_refuses_the_fault_header_before_sending() -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    catalog = load_catalog(CATALOG)
    cases = 0
    for env, allow in (("production", False), ("production", True)):
        settings = Settings.load(overrides={"target_env": env, "allow_writes": allow}, environ={})
        refused = refused_headers(settings, catalog)
        assert refused == {FAULT_HEADER}, refused
        client = BackendClient(
            "serverless",
            "http://api.test",
            transport=httpx.MockTransport(record),
            refused_headers=refused,
        )
        for spelling in ("X-Debug-Fault", "x-debug-fault", "X-DEBUG-FAULT"):
            with pytest.raises(GuardRefused, match="refuses to send"):
                client.request("GET", "/health", headers={spelling: "500"})
            cases += 1
        assert client.request("GET", "/health").status_code == 200  # other requests go
    assert len(sent) == 2, sent  # only the two plain requests were sent
    for env in ("sandbox", "staging"):
        settings = Settings.load(overrides={"target_env": env}, environ={})
        assert refused_headers(settings, catalog) == frozenset()
    print(f"\nproduction guard, client: {cases} fault-header requests refused, 0 sent")


# --- 3. /debug/* ----------------------------------------------------------------------------

DEBUG_CHECK = "api_checks/test_health.py::test_debug_routes_hidden_in_production"


def test_debug_route_on_a_production_target_fails_the_check(
    production: Target, staging: Target, tmp_path: Path
) -> None:
    # staging's sandbox serves /debug/*: marked production, that must fail
    present = _pytest(
        {**staging.env, "PARITY_TARGET_ENV": "production"}, [DEBUG_CHECK], tmp_path / "p.xml"
    )
    assert present.returncode == 1, present.output[-2000:]
    failing = {k: v for k, v in present.outcomes.items() if v == "failed"}
    assert any("GET /debug/config" in k for k in failing), present.outcomes
    config = next(k for k in failing if "GET /debug/config" in k)
    assert "answers 200 on a production target" in present.messages[config]
    # the production sandbox has none: the same check passes
    absent = _pytest(production.env, [DEBUG_CHECK], tmp_path / "a.xml")
    assert absent.returncode == 0, absent.output[-2000:]
    assert set(absent.outcomes.values()) == {"passed"}, absent.outcomes
    print(
        f"\nproduction guard, /debug/*: {len(present.outcomes)} present -> "
        f"{len(failing)} failed; {len(absent.outcomes)} absent -> passed"
    )


# --- 4. what does run on production ---------------------------------------------------------

ALLOWED = [
    "--allow-writes",
    "api_checks/test_boundary.py::test_presigned_upload[9MiB]",
    "api_checks/test_auth.py::test_bad_token_is_refused[users.me-wrong-signature]",
    "api_checks/test_auth.py::test_bad_token_is_refused[users.me-expired]",
]


def test_reads_run_and_allow_writes_lets_writes_run(production: Target, tmp_path: Path) -> None:
    assert not any(k.startswith("PARITY_EXPIRED_TOKEN_") for k in production.env)
    production.reset()
    run = _pytest(production.env, ALLOWED, tmp_path / "junit.xml")
    assert run.returncode == 0, run.output[-3000:]
    outcome = {k.rsplit("::", 1)[-1]: (o, run.messages.get(k, "")) for k, o in run.outcomes.items()}
    assert outcome["test_presigned_upload[9MiB]"][0] == "passed", outcome
    writes = [r for p in production.proxies for r in p.requests if r.method in WRITE_METHODS]
    assert writes, "--allow-writes: the upload's writes must reach the target"
    assert outcome["test_bad_token_is_refused[users.me-wrong-signature]"][0] == "passed"
    state, message = outcome["test_bad_token_is_refused[users.me-expired]"]
    assert state == "skipped" and "not-testable" in message, (state, message)
    assert "PARITY_EXPIRED_TOKEN_ALICE" in message, message
    print(
        f"\nproduction guard, allowed: {len(writes)} write requests with --allow-writes, a "
        "read check passed, the expired-token check not-testable"
    )
