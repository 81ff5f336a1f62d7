"""docs/frontend-testids.md is the contract with the frontend team: every ``data-testid`` the
page objects and flows use is listed there, and the sandbox's web app has exactly the listed
ones (so the contract, the tests and the reference app cannot drift apart)."""

from __future__ import annotations

import re

from sandbox.web.app import static_files
from tests.drift.checks import ROOT

DOC = ROOT / "docs" / "frontend-testids.md"
TESTID = r"([a-z0-9]+(?:-[a-z0-9]+)*)"


def documented() -> set[str]:
    text = DOC.read_text(encoding="utf-8").split("## Browser storage")[0]
    ids: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            ids |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return ids - {"data-testid"}  # the tables' header row


def used_by_the_suite() -> set[str]:
    ids: set[str] = set()
    for path in (ROOT / "e2e").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in (
            rf'\bby\("{TESTID}"\)',
            rf'get_by_test_id\("{TESTID}"\)',
            rf'data-testid="{TESTID}"',
        ):
            ids |= set(re.findall(pattern, text))
    return ids


def served_by_the_sandbox() -> set[str]:
    files = static_files()
    ids = set(re.findall(rf'data-testid="{TESTID}"', files["index.html"]))
    ids |= set(re.findall(rf'dataset\.testid = "{TESTID}"', files["main.js"]))
    return ids


def test_every_testid_the_flows_use_is_in_the_contract() -> None:
    used = used_by_the_suite()
    assert len(used) > 30
    assert used - documented() == set(), "add them to docs/frontend-testids.md"


def test_the_sandbox_web_app_has_exactly_the_documented_testids() -> None:
    served, listed = served_by_the_sandbox(), documented()
    assert served - listed == set(), "undocumented in docs/frontend-testids.md"
    assert listed - served == set(), "documented but missing from sandbox/web/static"
