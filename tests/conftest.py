"""The suite's own tests: engine units, the plugin through pytester, sandbox facts."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

#: The longest tests, started first: under ``pytest -n 2`` a multi-minute test drawn last
#: (pytest-randomly shuffles) would leave one core idle while it runs alone at the end.
FIRST = (
    "tests/hardening/test_secrets.py::test_whole_demo",  # the whole demo, ~2-3 min
    "tests/hardening/test_failing_backends.py",
    "tests/drift/test_parity_drifts.py",
    "tests/e2e_meta/test_e2e_catches_breaks.py",
)


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle; the same order everywhere
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((i for i, p in enumerate(FIRST) if item.nodeid.startswith(p)), len(FIRST))

    items.sort(key=rank)  # stable: the shuffle stands within each rank
