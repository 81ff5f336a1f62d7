"""Drift detection end to end: a sandbox whose serverless flavour diverges in one named way,
the QA checks run against it as a user would, and the check meant for that drift fails
(while the same checks pass on the clean sandbox)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.launcher import SandboxProcess
from tests.drift.checks import run_checks

CATALOG_CHECKS = "api_checks/test_catalog_scenarios.py"


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One sandbox carrying both foundation drifts (they touch different endpoints)."""
    tmp = tmp_path_factory.mktemp("drift")
    with SandboxProcess(tmp / "sandbox.env", drifts=["missing-endpoint", "status-code"]) as sb:
        yield sb.env


@pytest.mark.parametrize(
    ("drift", "case_id", "needle"),
    [
        ("missing-endpoint", "mocs.stats/default", "got 404"),
        ("status-code", "mocs.create/created", "got 200"),
    ],
)
def test_drift_is_caught_by_catalog_checks(
    drifted: dict[str, str], tmp_path: Path, drift: str, case_id: str, needle: str
) -> None:
    endpoint = case_id.split("/")[0]
    test_name = f"test_catalog_scenario[{case_id}-serverless]"
    run = run_checks(
        {**drifted, "PARITY_BACKEND": "both"},
        [CATALOG_CHECKS, "-k", endpoint.replace(".", " and ")],
        tmp_path / "junit.xml",
    )
    assert run.returncode == 1, run.output[-2000:]
    assert test_name in run.failed(), (drift, run.outcomes)
    assert needle in run.messages[test_name]
    # the Express twin of the same scenario is unaffected
    assert f"test_catalog_scenario[{case_id}-express]" in run.passed()


def test_unknown_drift_is_a_clear_usage_error(tmp_path: Path) -> None:
    from parity.errors import UsageError

    proc = SandboxProcess(tmp_path / "sandbox.env", drifts=["no-such-drift"])
    with pytest.raises(UsageError, match="no-such-drift"):
        proc.start()
