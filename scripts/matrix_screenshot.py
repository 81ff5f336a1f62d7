"""Screenshots of the parity matrix page for the docs, made from the current demo.

    python scripts/matrix_screenshot.py                 # runs the demo, then shoots
    python scripts/matrix_screenshot.py --input reports/parity-matrix.json   # no run

Without ``--input`` it runs ``parity demo --no-browser`` on a sandbox with the drifts of
``--drift`` injected (five by default, each on its own resource family) into a temporary
reports directory, then renders that matrix's page (as ``parity report`` does) in headless
Chromium (Debian's, or Playwright's own) and writes, under ``--out`` (``docs/``):

- ``parity-matrix.png``: 1366 x 768, the first screen: the findings, then the grid;
- ``parity-matrix-finding.png``: 1366 x 768, the worst finding opened;
- ``parity-matrix-cell.png``: 1920 x 1080, a failing cell of the worst finding opened;
- ``parity-matrix-2560.png``: 2560 x 1440, the whole first screen.

It fails on any console error or any request that is not the file itself: the page must
work offline. The screenshots are never edited by hand: run this again after a change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from parity.engine.matrix import load_matrix
from parity.report.html import write_html

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: One per resource family, so each is one finding (docs/parity.md).
DRIFTS = ("field-rename", "date-format", "null-vs-absent", "error-shape", "missing-endpoint")


def run_demo(reports: Path, drifts: list[str]) -> Path:
    """``parity demo --no-browser`` with ``drifts`` into ``reports``; its matrix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env["PARITY_SANDBOX_DRIFT"] = ",".join(drifts)
    cmd = [sys.executable, "-m", "parity", "demo", "--no-browser", "--reports-dir", str(reports)]
    print("$ PARITY_SANDBOX_DRIFT=" + env["PARITY_SANDBOX_DRIFT"], " ".join(cmd[1:]))
    # the demo fails (exit 1) with drifts injected: that is what is shown
    subprocess.run(cmd, cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    return reports / "parity-matrix.json"


def shoot(page_path: Path, out: Path, matrix: dict[str, Any]) -> list[str]:
    """The four screenshots; returns what was wrong with the page (console errors,
    requests that left the file)."""
    problems: list[str] = []
    open_ = [f for f in matrix.get("findings", []) if f.get("state") == "open"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)

        def page_at(width: int, height: int) -> Any:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "request",
                lambda r: None if r.url.startswith("file://") else problems.append(r.url),
            )
            page.goto(page_path.as_uri())
            return page

        out.mkdir(parents=True, exist_ok=True)
        page = page_at(1366, 768)
        page.screenshot(path=str(out / "parity-matrix.png"))
        if open_:
            page.click(f'#findings button.finding[data-finding="{open_[0]["id"]}"]')
            page.screenshot(path=str(out / "parity-matrix-finding.png"))
        page.close()
        page = page_at(1920, 1080)
        if open_:
            page.click(f'#grid button.cell[data-findings~="{open_[0]["id"]}"] >> nth=0')
        page.screenshot(path=str(out / "parity-matrix-cell.png"))
        page.close()
        page = page_at(2560, 1440)
        page.screenshot(path=str(out / "parity-matrix-2560.png"))
        page.close()
        browser.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, help="a matrix JSON (default: run the demo)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--drift", action="append", help="a sandbox drift (repeatable)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = opts.input or run_demo(Path(tmp) / "reports", opts.drift or list(DRIFTS))
        matrix = load_matrix(source)
        page_path = write_html(matrix, Path(tmp) / "parity-matrix.html", load={})
        problems = shoot(page_path, opts.out, matrix)
    if problems:
        print("the page is not clean: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"written under {opts.out}: " + ", ".join(
        p.name for p in sorted(opts.out.glob("parity-matrix*.png"))))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
