"""A pytest plugin for the probe benchmark (``-p benchmarks.probe_counter``): counts the
requests each test sends through the suite's backend clients and writes them, per test, to
the JSON file named by ``PARITY_BENCH_COUNTS`` when the session ends. Benchmark-only: it
wraps :meth:`parity.engine.client.BackendClient.request` for the process it is loaded into."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from parity.engine.client import BackendClient

_counts: Counter[str] = Counter()
_lock = threading.Lock()
_current = {"test": "(outside tests)"}
_original = BackendClient.request


def _counting(self: BackendClient, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
    with _lock:
        _counts[f"{_current['test']}|{self.name}"] += 1
    return _original(self, method, path, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    BackendClient.request = _counting  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    _current["test"] = item.nodeid
    try:
        return (yield)
    finally:
        _current["test"] = "(outside tests)"


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("PARITY_BENCH_COUNTS")
    if target:
        out: dict[str, dict[str, int]] = {}
        for key, n in sorted(_counts.items()):
            test, backend = key.rsplit("|", 1)
            out.setdefault(test, {})[backend] = n
        Path(target).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
