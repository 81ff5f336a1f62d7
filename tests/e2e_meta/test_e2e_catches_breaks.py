"""The browser flows can fail: each deliberately broken variant of the sandbox's web app
(``PARITY_SANDBOX_WEB_BREAK``) makes the flow meant to catch it fail, with a screenshot,
while the same flows pass on the intact app.

Each case runs the e2e flows in a pytest of its own, as QA would, against a fresh sandbox.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from slugify import slugify

from parity.core.catalog import load_catalog
from parity.engine.har import import_har
from tests.drift.checks import ROOT, CheckRun, run_checks
from tests.hardening.secret_scan import scan

FLOWS = {
    "testid": "test_login_with_good_password",
    "fallback": "test_config_fetch_failure_retries_then_uses_last_known_good_then_express",
    "lock": "test_backend_lock_kept_across_reloads_and_dropped_after_24_hours",
}
# what the failure message must say, so whoever reads it knows what broke
EXPLAINS = {
    "testid": 'get_by_test_id("login-submit")',
    "fallback": "the app did not start",
    "lock": "API calls expected on express only",
}
PNG = b"\x89PNG\r\n\x1a\n"


def _browser_available() -> bool:
    if os.environ.get("PARITY_E2E_CHROMIUM") or Path("/usr/bin/chromium").exists():
        return True
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    return any(cache.glob("chromium*"))


pytestmark = pytest.mark.skipif(not _browser_available(), reason="no Chromium for Playwright")


def run_flows(
    tmp_path: Path, tests: list[str], env: dict[str, str] | None = None
) -> tuple[CheckRun, Path]:
    output = tmp_path / "playwright"
    run = run_checks(
        env or {},
        [
            "e2e",
            "-m",
            "e2e",
            "--backend=serverless",
            "-k",
            " or ".join(tests),
            "--output",
            str(output),
            # the flows need none of these; loading them costs seconds per run
            *("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:locust"),
        ],
        tmp_path / "junit.xml",
    )
    return run, output


@pytest.mark.parametrize("web_break", sorted(FLOWS))
def test_a_broken_web_app_fails_its_flow_with_a_screenshot(web_break: str, tmp_path: Path) -> None:
    env = {"PARITY_SANDBOX_WEB_BREAK": web_break}
    if web_break == "testid":
        env["PARITY_E2E_TIMEOUT"] = "4"  # the missing element is missing for good: fail sooner
    run, output = run_flows(tmp_path, [FLOWS[web_break]], env)

    failed = run.failed()
    assert len(failed) == 1 and failed.pop().startswith(FLOWS[web_break] + "["), run.output[-3000:]
    (test_id,) = run.failed()
    assert EXPLAINS[web_break] in run.messages[test_id], run.messages[test_id][-2000:]
    (folder,) = [p for p in output.iterdir() if slugify(FLOWS[web_break]) in p.name]
    screenshot = folder / "test-failed-1.png"
    assert screenshot.is_file(), sorted(p.name for p in folder.iterdir())
    assert screenshot.read_bytes()[:8] == PNG
    assert (folder / "trace.zip").is_file()
    # Playwright wrote the trace with what the flow typed and received; the suite redacts it
    assert not scan([folder / "trace.zip"], {}), scan([folder / "trace.zip"], {})
    if web_break == "testid":  # the flow typed the password before the missing button
        typed = _typed(folder / "trace.zip")
        assert typed["login-password"] == "[redacted:secret]", typed
        assert typed["login-username"] == "alice", typed


def _typed(trace: Path) -> dict[str, str]:
    """The value each ``fill`` of the trace typed, by the test id it typed into."""
    typed: dict[str, str] = {}
    with zipfile.ZipFile(trace) as archive:
        for line in archive.read("trace.trace").splitlines():
            event = json.loads(line)
            if event.get("method") == "fill":
                testid = event["params"]["selector"].split('"')[1]
                typed[testid] = event["params"]["value"]
    return typed


def test_the_same_flows_pass_on_the_intact_web_app_and_record_hars(tmp_path: Path) -> None:
    hars = tmp_path / "har"
    run, output = run_flows(tmp_path, list(FLOWS.values()), {"PARITY_E2E_HAR": str(hars)})

    assert run.returncode == 0, run.output[-3000:]
    assert len(run.passed()) == len(FLOWS), run.outcomes
    assert not list(output.glob("*/test-failed-*.png"))  # artifacts only for failures

    # the recorded flow is something `parity capture --har` can import
    (har,) = hars.glob("test-login-with-good-password*.har")
    report = import_har(
        har,
        load_catalog(ROOT / "fixtures" / "catalog.yaml"),
        tmp_path / "c.jsonl",
        backend="serverless",
    )
    assert report.written > 0, report
    assert report.unmatched["GET /config.json"] >= 1  # the web app's own file: counted, not lost
    cassette = (tmp_path / "c.jsonl").read_text()
    assert "/api/mocs" in cassette
