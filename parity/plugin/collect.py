"""From pytest reports to matrix records, on the reporting side (the xdist controller).

Checks emit :class:`~parity.core.results.CheckResult` dicts into ``item.user_properties``; pytest
copies them into every phase's report and xdist ships reports to the controller, so
collecting in ``pytest_runtest_logreport`` sees the records of every worker. A test that
emits nothing still appears when its target is known (a catalog case it is parametrized
with, or a ``parity_check`` marker naming the endpoint): ``pass``, ``skipped`` or ``error``
with the reason, so a crashed check never vanishes from the matrix. A test that emitted
records and then failed with none of them failing gets an ``error`` record beside them
(under its own target, else its first record's endpoint and check). A failed test the
matrix knows nothing about is kept in :attr:`Collector.outside`, so the matrix headline can
say that the run failed outside its cells instead of reading as clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from parity.core.redact import redact_text
from parity.core.results import CheckResult

__all__ = ["RESULTS_KEY", "TARGET_KEY", "Collector", "target_of"]

_FAILING = frozenset({"drift", "missing", "error"})

RESULTS_KEY = "parity"
TARGET_KEY = "parity-target"

_OUTCOME_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
_STATE_OF = {"passed": "pass", "skipped": "skipped", "failed": "error", "error": "error"}


def target_of(item: pytest.Item) -> dict[str, Any] | None:
    """What ``item`` is about: ``{"endpoint", "check", "scenario", "backend"}``, or None.

    From a ``parity_check(name, endpoint=...)`` marker, else from a parametrized catalog
    case (any parameter with ``.endpoint.key`` and ``.scenario.name``).
    """
    marker = item.get_closest_marker("parity_check")
    name = getattr(item, "originalname", item.name)
    check = str(marker.args[0]) if marker and marker.args else name.removeprefix("test_")
    check = check.replace("_", "-")
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = dict(callspec.params) if callspec is not None else {}
    backend = params.get("backend_name")
    if marker is not None and marker.kwargs.get("endpoint"):
        return {
            "endpoint": str(marker.kwargs["endpoint"]),
            "check": check,
            "scenario": marker.kwargs.get("scenario"),
            "backend": backend,
        }
    for value in params.values():
        endpoint = getattr(getattr(value, "endpoint", None), "key", None)
        scenario = getattr(getattr(value, "scenario", None), "name", None)
        if isinstance(endpoint, str) and isinstance(scenario, str):
            return {"endpoint": endpoint, "check": check, "scenario": scenario, "backend": backend}
    return None


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (file, line, reason)
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return str(crash.message).strip().splitlines()[0][:500]
    text = str(longrepr or "").strip().splitlines()
    return text[-1][:500] if text else ""


@dataclass
class _Test:
    nodeid: str
    records: list[dict[str, Any]] = field(default_factory=list)
    target: dict[str, Any] | None = None
    outcome: str = "passed"
    reason: str = ""


class Collector:
    """The records of a session, per test, as reports arrive."""

    def __init__(self) -> None:
        self.tests: dict[str, _Test] = {}
        #: Failed tests without a record or a target (node id -> reason): no cell shows
        #: them, so the matrix headline names them.
        self.outside: dict[str, str] = {}

    def __bool__(self) -> bool:
        return any(t.records or t.target for t in self.tests.values())

    def add(self, report: pytest.TestReport) -> None:
        props = report.user_properties
        records = [v for k, v in props if k == RESULTS_KEY and isinstance(v, dict)]
        target = next((v for k, v in props if k == TARGET_KEY and isinstance(v, dict)), None)
        if not records and target is None and report.nodeid not in self.tests:
            if report.failed:  # a test the matrix knows nothing about, failing
                self.outside.setdefault(report.nodeid, redact_text(_reason(report)))
            return
        test = self.tests.setdefault(report.nodeid, _Test(report.nodeid))
        if len(records) >= len(test.records):  # each phase's report holds all so far
            test.records = records
        test.target = target or test.target
        if report.failed:
            outcome = "failed" if report.when == "call" else "error"
        elif report.skipped:
            outcome = "skipped"
        else:
            outcome = "passed"
        if _OUTCOME_RANK[outcome] > _OUTCOME_RANK[test.outcome]:
            test.outcome, test.reason = outcome, _reason(report)

    def records(self) -> list[CheckResult]:
        out: list[CheckResult] = []
        for test in self.tests.values():
            results = [CheckResult.from_dict(dict(r)) for r in test.records]
            for r in results:
                r.test_id = r.test_id or test.nodeid
            out += results
            failing = any(r.state in _FAILING for r in results)
            target = test.target
            if target is None and results:  # a failure after its records: still a cell
                first = results[0]
                target = {"endpoint": first.endpoint, "check": first.check,
                          "scenario": first.scenario, "backend": first.backend}  # fmt: skip
            if target is None:
                continue
            if not results or (test.outcome in ("failed", "error") and not failing):
                state = _STATE_OF[test.outcome] if not results else "error"
                summary = test.reason or {"pass": "passed"}.get(state, state)
                if test.outcome in ("failed", "error"):
                    summary = f"the check {test.outcome} without a verdict: {summary}"
                out.append(
                    CheckResult(
                        endpoint=target["endpoint"],
                        check=target["check"],
                        state=state,  # type: ignore[arg-type]
                        summary=redact_text(summary),
                        backend=target.get("backend"),
                        scenario=target.get("scenario"),
                        evidence={"error": redact_text(test.reason)} if state == "error" else {},
                        test_id=test.nodeid,
                    )
                )
        return out
