"""The matrix page in a real browser at 1366 x 768, 1920 x 1080 and 2560 x 1440: the
findings come first, a finding's or a cell's detail opens fully inside the viewport and at
least 600 px wide, the endpoint column stays in view when the grid scrolls, and every
element that shows a finding carries its id (``data-finding``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parity.core.results import CheckResult
from parity.engine.matrix import build_matrix
from parity.report.html import write_html

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
VIEWPORTS = [(1366, 768), (1920, 1080), (2560, 1440)]
ROUTES = [
    "/api/mocs", "/api/mocs/search", "/api/mocs/stats", "/api/mocs/{mocId}",
    "/api/mocs/{mocId}/files", "/api/mocs/{mocId}/files/presign",
    "/api/mocs/{mocId}/files/complete", "/api/images", "/api/images/search",
    "/api/images/{imageId}", "/api/albums", "/api/albums/{albumId}", "/api/wishlist",
    "/api/wishlist/search", "/api/wishlist/{itemId}", "/api/wishlist/reorder",
    "/api/users/me", "/api/users/me/avatar",
]  # fmt: skip
CHECKS = [
    "catalog", "status", "headers", "envelope", "consistency", "search-lag", "cache", "auth",
    "boundary", "catalog-scenario", "config", "contract", "cors", "debug", "errors", "health",
    "probe:auth", "probe:body", "probe:method", "probe:path", "probe:query", "probe:repetition",
    "smoke-flow",
]  # fmt: skip


def _diff(path: str, kind: str, expected: Any, actual: Any) -> dict[str, Any]:
    return {"path": path, "kind": kind, "expected": expected, "actual": actual,
            "severity": "additive" if kind == "added" else "breaking",
            "origin": "application", "accepted_by": None, "note": ""}  # fmt: skip


def _record(endpoint: str, check: str, diffs: list[dict[str, Any]]) -> CheckResult:
    data: dict[str, Any] = {"id": "a", "pieceCount": 1450, "title": "x" * 60,
                            "createdAt": "2024-06-18T02:00:00.000Z"}  # fmt: skip
    ref = {"status": "success", "message": "OK", "data": data}
    cand = {**ref, "data": {**data, "piece_count": 1450}}
    evidence = {
        "request": {"method": endpoint.split()[0], "path": endpoint.split()[1], "role": "alice"},
        "responses": {"express": {"status": 200, "headers": {"content-type": "application/json"},
                                  "json": ref},
                      "serverless": {"status": 200, "headers": {"content-type":
                                                                "application/json"},
                                     "json": cand}},
        "reference": "express", "candidate": "serverless", "differences": diffs,
    }  # fmt: skip
    state = "drift" if diffs else "pass"
    return CheckResult(endpoint, check, state, "differs" if diffs else "same",  # type: ignore[arg-type]
                       scenario="default", evidence=evidence,
                       severity="breaking" if diffs else None,
                       origin="application" if diffs else None)  # fmt: skip


def wide_matrix() -> dict[str, Any]:
    """Like the demo's: about 36 endpoints by 23 checks, four causes over many cells."""
    records = []
    endpoints = [f"{m} {r}" for r in ROUTES for m in ("GET", "PATCH")]
    for i, endpoint in enumerate(endpoints):
        for j, check in enumerate(CHECKS):
            diffs: list[dict[str, Any]] = []
            if check in ("envelope", "contract", "probe:query") and i % 3 == 0:
                diffs = [_diff("data.pieceCount", "removed", 1450, "(absent)"),
                         _diff("data.piece_count", "added", "(absent)", 1450)]  # fmt: skip
            elif check == "smoke-flow" and i % 5 == 1:
                diffs = [_diff("data.createdAt", "type", "2024-06-18T02:00:00.000Z", 1718676000)]
            elif check == "probe:repetition" and i % 4 == 2:
                diffs = [_diff("data.page", "value", 1, 0)]
            elif (i + j) % 11 == 0:
                diffs = [_diff(f"data.f{j}", "added", "(absent)", j)]
            records.append(_record(endpoint, check, diffs))
    return build_matrix(records, meta={"run_id": "layout"})


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return dict(box)


def _inside(box: dict[str, float], width: int, height: int) -> bool:
    return (
        box["x"] >= -0.5
        and box["y"] >= -0.5
        and box["x"] + box["width"] <= width + 0.5
        and box["y"] + box["height"] <= height + 0.5
    )


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
def test_the_page_reads_at_1366_1920_and_2560(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    matrix = wide_matrix()
    findings = matrix["findings"]
    assert len(findings) >= 4 and len(matrix["checks"]) == len(CHECKS)
    path = write_html(matrix, tmp_path / "parity-matrix.html", load={})
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for width, height in VIEWPORTS:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                page.goto(path.as_uri())
                where = f"{width}x{height}"
                # the findings lead: above the grid, the first one in the first screen
                assert _box(page, "#findings")["y"] < _box(page, "#grid-wrap")["y"], where
                first = _box(page, "#findings button.finding")
                assert _inside(first, width, height), (where, first)
                assert "finding" in page.inner_text("#findings-line")
                # every finding is shown by an element carrying its id; open ones in cells too
                for f in findings:
                    assert page.locator(f'#findings [data-finding="{f["id"]}"]').count() >= 1
                    if f["state"] == "open":
                        cells = page.locator(f'#grid button.cell[data-findings~="{f["id"]}"]')
                        assert cells.count() == len(f["cells"]), (where, f["title"])
                # the page itself never scrolls sideways: the grid scrolls in its box
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, (where, overflow)
                # a finding's detail: fully in the viewport, at least 600 px wide
                page.click("#findings button.finding >> nth=0")
                detail = _box(page, "#detail")
                assert _inside(detail, width, height) and detail["width"] >= 600, (where, detail)
                assert page.get_attribute("#detail", "data-finding") == findings[0]["id"]
                text = page.inner_text("#detail")
                assert "What to do" in text and "[[accept]]" in text, where
                page.keyboard.press("Escape")
                # a cell's detail (a cell of the last column: the grid scrolls to it)
                page.click(f'#grid button.cell[data-check="{CHECKS[-1]}"][data-state="drift"]')
                detail = _box(page, "#detail")
                assert _inside(detail, width, height) and detail["width"] >= 600, (where, detail)
                assert page.locator("#detail [data-finding]").count() >= 1  # its findings
                page.keyboard.press("Escape")
                # the endpoint column stays in view when the grid scrolls
                scrolled = page.evaluate(
                    "() => { const w = document.getElementById('grid-wrap');"
                    " w.scrollLeft = w.scrollWidth; return [w.scrollLeft, w.scrollWidth,"
                    " w.clientWidth]; }"
                )
                if width == 1366:  # 23 checks do not fit beside the endpoints there
                    assert scrolled[0] > 0 and scrolled[1] > scrolled[2], scrolled
                wrap, ep = _box(page, "#grid-wrap"), _box(page, "#grid td.ep")
                assert abs(ep["x"] - wrap["x"]) <= 2, (where, ep, wrap)
                assert page.locator("#grid td.ep").first.is_visible()
                page.close()
        finally:
            browser.close()
    assert problems == []
