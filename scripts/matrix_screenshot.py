"""Screenshot of a parity matrix page, for the docs: ``docs/parity-matrix.png``.

    python scripts/matrix_screenshot.py --input reports/parity-matrix.json \\
        --out docs/parity-matrix.png --cell "GET /api/wishlist|envelope"

Renders the HTML from the JSON (as ``parity report`` does), opens it in headless Chromium
(Debian's, or Playwright's own), clicks the cell, and fails on any console error or any
request that is not the file itself: the page must work offline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from parity.matrix import load_matrix
from parity.report.html import write_html

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=Path("reports/parity-matrix.json"))
    parser.add_argument("--out", type=Path, default=Path("docs/parity-matrix.png"))
    parser.add_argument("--cell", default="", help='"METHOD /route|check" to open')
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page_path = write_html(load_matrix(opts.input), Path(tmp) / "parity-matrix.html")
        problems: list[str] = []
        with sync_playwright() as p:
            chromium = shutil.which("chromium")
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": opts.width, "height": opts.height})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "request",
                lambda r: None if r.url.startswith("file://") else problems.append(r.url),
            )
            page.goto(page_path.as_uri())
            if opts.cell:
                endpoint, check = opts.cell.split("|")
                page.click(f'tr[data-endpoint="{endpoint}"] button[data-check="{check}"]')
            opts.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(opts.out))
            browser.close()
    if problems:
        print("the page is not clean: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"written {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
