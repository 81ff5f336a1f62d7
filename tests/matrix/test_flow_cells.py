"""The browser flows report into the matrix (``e2e/conftest.py``): one ``browser-flow``
record per flow and backend, so the headline and the exit code agree. A flow that saw the
wrong thing is ``drift`` with the failure text as evidence; one that crashed is ``error``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from e2e.conftest import flow_record
from tests.drift.checks import ROOT, run_checks
from tests.fakes import fake_jwt


class _Item:
    """What ``flow_record`` reads of a collected flow."""

    def __init__(self) -> None:
        self.nodeid = "e2e/test_login.py::test_login_with_good_password[chromium-serverless]"
        self.name = "test_login_with_good_password[chromium-serverless]"
        self.originalname = "test_login_with_good_password"
        self.path = ROOT / "e2e" / "test_login.py"
        self._marker = pytest.mark.parity_check(
            "browser-flow", endpoint="FLOW /login", scenario="login-with-good-password"
        ).mark

    def get_closest_marker(self, name: str) -> Any:
        return self._marker if name == "parity_check" else None


def _call(body: Callable[[], None]) -> pytest.CallInfo[None]:
    return pytest.CallInfo.from_call(body, "call")


def _raise(exc: BaseException) -> Callable[[], None]:
    def body() -> None:
        raise exc

    return body


@pytest.mark.parametrize(
    ("exc", "state", "summary"),
    [
        (AssertionError("expected 1 card, got 0"), "drift", "the flow failed: AssertionError"),
        (PlaywrightTimeout("Locator.click: Timeout"), "drift", "the flow failed: TimeoutError"),
        (pytest.fail.Exception("no API call"), "drift", "the flow failed: Failed: no API call"),
        (RuntimeError("browser closed"), "error", "the flow crashed: RuntimeError"),
    ],
)
def test_a_failed_flow_is_drift_a_crashed_one_error(
    exc: BaseException, state: str, summary: str
) -> None:
    record = flow_record(_Item(), _call(_raise(exc)))  # type: ignore[arg-type]
    assert record is not None
    assert (record.endpoint, record.check, record.scenario) == (
        "FLOW /login", "browser-flow", "login-with-good-password"
    )  # fmt: skip
    assert record.state == state and record.summary.startswith(summary), record.summary
    assert str(exc) in record.evidence["error"]
    assert record.evidence["flow"].startswith("e2e/test_login.py::")


def test_a_passed_flow_is_pass_a_skipped_one_left_to_the_collector() -> None:
    record = flow_record(_Item(), _call(lambda: None))  # type: ignore[arg-type]
    assert record is not None and record.state == "pass"
    skipped = _call(_raise(pytest.skip.Exception("no web app")))
    assert flow_record(_Item(), skipped) is None  # type: ignore[arg-type]


def test_the_failure_text_is_redacted() -> None:
    jwt = fake_jwt({"sub": "alice"})  # made at run time: no token-shaped literal in git
    exc = AssertionError(f"Authorization: Bearer {jwt} for alice@example.com")
    record = flow_record(_Item(), _call(_raise(exc)))  # type: ignore[arg-type]
    assert record is not None
    text = json.dumps(record.to_dict())
    assert jwt not in text and "alice@example.com" not in text


def _browser_available() -> bool:
    if os.environ.get("PARITY_E2E_CHROMIUM") or Path("/usr/bin/chromium").exists():
        return True
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    return any(cache.glob("chromium*"))


@pytest.mark.skipif(not _browser_available(), reason="no Chromium for Playwright")
def test_a_broken_flow_is_a_failing_cell_and_the_headline_says_so(tmp_path: Path) -> None:
    # the login button's data-testid is gone: the login flow fails, browsing does not
    reports = tmp_path / "reports"
    flows = "test_login_with_good_password or test_browse_and_search_mocs"
    run = run_checks(
        {
            "PARITY_SANDBOX_WEB_BREAK": "testid",
            "PARITY_E2E_TIMEOUT": "4",
            "PARITY_REPORTS_DIR": str(reports),
        },
        ["e2e", "-m", "e2e", "--backend=serverless", "-k", flows,
         "--output", str(tmp_path / "playwright"),
         *("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:locust")],
        tmp_path / "junit.xml",
    )  # fmt: skip
    assert run.returncode == 1, run.output[-3000:]
    matrix = json.loads((reports / "parity-matrix.json").read_text())
    cells = {(c["endpoint"], c["check"]): c for c in matrix["cells"]}
    login = cells[("FLOW /login", "browser-flow")]
    assert login["state"] == "drift" and login["backend"] == "serverless"
    assert login["scenario"] == "login-with-good-password"
    assert 'get_by_test_id("login-submit")' in login["evidence"]["error"]
    assert cells[("FLOW /browse", "browser-flow")]["state"] == "pass"
    summary = matrix["summary"]
    assert summary["failing"] == 1 and not summary["clean"]
    assert "1 of 2 endpoints at parity; 1 failing cell(s)" in run.output
    html = (reports / "parity-matrix.html").read_text()
    assert '<div class="headline bad" id="headline">' in html
    # one click on the page shows the failure text
    from playwright.sync_api import sync_playwright

    from e2e.conftest import CHROMIUM_ARGS, _chromium_executable

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium_executable(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto((reports / "parity-matrix.html").as_uri())
            page.click('tr[data-endpoint="FLOW /login"] button[data-check="browser-flow"]')
            assert 'get_by_test_id("login-submit")' in page.inner_text("#detail")
        finally:
            browser.close()
