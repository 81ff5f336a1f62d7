"""A target marked production (a sandbox started with ``--production``, and
``PARITY_TARGET_ENV=production``): checks that write are refused unless ``--allow-writes``
is given, read-only checks still run, ``/debug/*`` is gone, and what production cannot
offer (an expired token of the pool) is not-testable, never passed, and the test-only fault
header is never sent (tests/hardening/test_production_guard.py proves it with a proxy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.launcher import SandboxProcess
from tests.drift.checks import run_checks


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("production")
    with SandboxProcess(log_file=tmp / "sandbox.log", production=True) as sb:
        assert not any(k.startswith("PARITY_EXPIRED_TOKEN_") for k in sb.env), sb.env.keys()
        yield {
            **sb.env,
            "PARITY_TARGET_ENV": "production",
            "PARITY_BACKEND": "both",
            "PARITY_REPORTS_DIR": str(tmp / "reports"),
        }


def test_writes_are_refused_and_reads_still_run(production: dict[str, str], tmp_path: Path) -> None:
    run = run_checks(
        production,
        [
            "api_checks/test_boundary.py",
            "api_checks/test_health.py::test_debug_routes_hidden_in_production",
            "api_checks/test_auth.py::test_bad_token_is_refused[users.me-wrong-signature]",
            "api_checks/test_auth.py::test_bad_token_is_refused[users.me-expired]",
            "api_checks/test_auth.py::test_bad_token_is_refused[mocs.update-malformed]",
            "api_checks/test_errors.py::test_fault_header_gives_500[health]",
        ],
        tmp_path / "junit.xml",
    )
    assert run.returncode == 0, run.output[-3000:]
    boundary = [n for n in run.outcomes if "upload" in n]
    assert len(boundary) >= 8, run.outcomes
    for name in [*boundary, "test_bad_token_is_refused[mocs.update-malformed]"]:
        assert run.outcomes[name] == "skipped", (name, run.outcomes)
        assert "target is production" in run.messages[name], run.messages[name]
        assert "--allow-writes" in run.messages[name], run.messages[name]
    # read-only checks run: /debug/* is gone, a forged signature is refused
    assert run.outcomes["test_debug_routes_hidden_in_production[GET /debug/config]"] == "passed"
    assert run.outcomes["test_debug_routes_hidden_in_production[GET /debug/routes]"] == "passed"
    assert run.outcomes["test_bad_token_is_refused[users.me-wrong-signature]"] == "passed"
    # what production cannot offer is not-testable, never a pass
    expired = "test_bad_token_is_refused[users.me-expired]"
    assert run.outcomes[expired] == "skipped"
    assert "not-testable" in run.messages[expired]
    assert "PARITY_EXPIRED_TOKEN_ALICE" in run.messages[expired]
    # the fault header is never even sent to production: the client refuses it
    fault = "test_fault_header_gives_500[health]"
    assert run.outcomes[fault] == "skipped"
    assert "not-testable" in run.messages[fault], run.messages[fault]
    assert "production guard refuses to send" in run.messages[fault], run.messages[fault]


def test_allow_writes_lets_write_checks_run(production: dict[str, str], tmp_path: Path) -> None:
    run = run_checks(
        production,
        ["--allow-writes", "api_checks/test_boundary.py::test_presigned_upload[9MiB]"],
        tmp_path / "junit.xml",
    )
    assert run.returncode == 0, run.output[-3000:]
    assert run.outcomes == {"test_presigned_upload[9MiB]": "passed"}, run.output[-3000:]
