"""parity-matrix.html: self-contained, works offline in headless Chromium, and
``parity report`` re-renders it from the JSON."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from parity.core.results import CheckResult
from parity.engine.matrix import build_matrix, write_json
from parity.report.allure import side_by_side_diff
from parity.report.html import render_html, write_html

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def evidence(express: Any, serverless: Any, diffs: list[dict[str, Any]]) -> dict[str, Any]:
    def resp(body: Any) -> dict[str, Any]:
        return {"status": 200, "headers": {"content-type": "application/json"}, "json": body}

    return {
        "request": {
            "method": "GET",
            "path": "/api/wishlist",
            "role": "alice",
            "headers": {"authorization": "[redacted:token]"},
            "body": None,
        },
        "responses": {"express": resp(express), "serverless": resp(serverless)},
        "reference": "express",
        "candidate": "serverless",
        "differences": diffs,
        "noise": [
            {"path": "data.uptime", "source": "learned", "kind": "timestamp", "values": [1, 2]}
        ],
    }


def sample_matrix() -> dict[str, Any]:
    items = [{"id": 1, "name": "</script><script>alert(1)</script>"}, {"id": 2, "name": "b"}]
    diff = {
        "path": "data.items",
        "kind": "order",
        "expected": "same items",
        "actual": "in another order",
        "severity": "breaking",
        "origin": "application",
        "accepted_by": None,
        "note": "",
    }
    records = [
        CheckResult(
            "GET /api/wishlist",
            "envelope",
            "drift",
            "1 difference(s): data.items order",
            scenario="default",
            origin="application",
            severity="breaking",
            evidence=evidence({"items": items}, {"items": items[::-1]}, [diff]),
        ),
        CheckResult("GET /api/wishlist", "status", "pass", "same status", scenario="default"),
        CheckResult(
            "POST /api/albums",
            "envelope",
            "accepted",
            "accepted (authorizer)",
            scenario="no-token",
            origin="gateway",
        ),
        CheckResult("GET /health", "status", "pass", "same status", scenario="default"),
        CheckResult("GET /api/mocs/stats", "status", "missing", "gateway 404", origin="gateway"),
        CheckResult(
            "GET /api/mocs/search",
            "search-lag",
            "pass",
            "visible after 0.05 s",
            evidence={
                "measurements": [{"name": "search lag", "value": 0.05, "unit": "s", "bound": 5}]
            },
        ),
    ]
    return build_matrix(
        records,
        baseline=[
            {
                "id": "authorizer-401-shape",
                "state": "used",
                "endpoint": "* /api/*",
                "check": "envelope",
                "path": "*",
                "matched": 1,
                "expires": "2027-05-31",
                "reason": "the authorizer answers first",
            }
        ],
        meta={
            "run_id": "abc",
            "backends": {"express": "http://e"},
            "storage": {"bucket": "s3://moc-files", "deleted": 2, "failed": 0, "error": None},
        },
    )


def test_page_is_self_contained() -> None:
    html = render_html(sample_matrix())
    assert "default-src 'none'" in html  # the CSP forbids any fetch
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "fetch(" not in html and "XMLHttpRequest" not in html
    assert "@import" not in html and "url(http" not in html
    assert "</script><script>alert" not in html  # data cannot close the script tag
    assert "3 of 5 endpoints at parity (1 with accepted drift)" in html


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_page_works_offline_in_headless_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = write_html(sample_matrix(), tmp_path / "parity-matrix.html")
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri())
            assert "3 of 5 endpoints at parity" in page.inner_text("#headline")
            assert "run abc" in page.inner_text("#meta")
            swept = "2 never-completed upload(s) swept from s3://moc-files"
            assert swept in page.inner_text("#meta")
            assert page.locator("tr[data-endpoint]").count() == 5
            # one click: the differences and both responses side by side
            page.click('tr[data-endpoint="GET /api/wishlist"] button[data-check="envelope"]')
            detail = page.locator("#detail")
            assert detail.is_visible()
            text = detail.inner_text()
            assert "data.items" in text and "order" in text
            assert page.locator("#detail .sides .side").count() == 2
            assert "express" in page.locator("#detail .side h3").first.inner_text()
            page.keyboard.press("Escape")  # the panel lies over the page: Escape closes it
            assert not detail.is_visible()
            # filter by state: only failing rows left
            for state in ("pass", "accepted", "skipped", "not-testable"):
                page.uncheck(f'input[data-state="{state}"]')
            shown = page.locator("tr[data-endpoint]").evaluate_all(
                "rows => rows.map(r => r.dataset.endpoint)"
            )
            assert sorted(shown) == ["GET /api/mocs/stats", "GET /api/wishlist"]
            # filter by resource
            page.check('input[data-state="pass"]')
            page.select_option("#resource-filter", "health")
            assert page.locator("tr[data-endpoint]").count() == 1
            assert "search lag" in page.inner_text("#measurements")
            assert "authorizer-401-shape" in page.inner_text("#baseline")
            assert "data.uptime" in page.inner_text("#noise")
        finally:
            browser.close()
    assert problems == []
    assert [u for u in requests if not u.startswith("file://")] == []


def test_allure_diff_is_a_unified_diff_of_both_responses() -> None:
    ev = evidence({"a": 1}, {"a": 2}, [])
    text = side_by_side_diff(ev)
    assert text is not None
    assert "--- express" in text and "+++ serverless" in text
    assert '-  "a": 1' in text and '+  "a": 2' in text


def parity_cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("parity")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "parity"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60, check=False)


def test_report_command_rerenders_the_html(tmp_path: Path) -> None:
    src = write_json(sample_matrix(), tmp_path / "parity-matrix.json")
    out = tmp_path / "out" / "matrix.html"
    done = parity_cli("report", "--input", str(src), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "3 of 5 endpoints at parity" in done.stdout
    assert out.read_text().startswith("<!doctype html>")
    # default output: next to the input
    assert parity_cli("report", "--input", str(src)).returncode == 0
    assert (tmp_path / "parity-matrix.html").exists()


def test_report_command_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "parity-matrix.json"
    bad.write_text("{oops")
    done = parity_cli("report", "--input", str(bad))
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    assert str(bad) in lines[0] and "not valid JSON" in lines[0] and "pytest -m parity" in lines[0]
