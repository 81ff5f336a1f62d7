"""Collector: records from phase reports, and verdicts for tests that emitted none."""

from __future__ import annotations

from typing import Any

import pytest

from parity.core.results import CheckResult
from parity.plugin.collect import RESULTS_KEY, TARGET_KEY, Collector

TARGET = {"endpoint": "GET /x", "check": "status", "scenario": "default", "backend": None}


def report(
    when: str, outcome: str, props: list[tuple[str, Any]], longrepr: Any = None, nodeid: str = "t"
) -> pytest.TestReport:
    return pytest.TestReport(
        nodeid, ("f.py", 1, "t"), {}, outcome, longrepr, when, user_properties=props
    )


def rec(state: str) -> tuple[str, dict[str, Any]]:
    return (RESULTS_KEY, CheckResult("GET /x", "status", state, "s", scenario="default").to_dict())


def test_records_come_once_though_every_phase_report_carries_them() -> None:
    c = Collector()
    c.add(report("setup", "passed", [(TARGET_KEY, TARGET)]))
    c.add(report("call", "passed", [(TARGET_KEY, TARGET), rec("pass")]))
    c.add(report("teardown", "passed", [(TARGET_KEY, TARGET), rec("pass")]))
    (only,) = c.records()
    assert only.state == "pass" and only.test_id == "t"


def test_a_test_without_records_gets_its_outcome() -> None:
    c = Collector()
    c.add(report("setup", "passed", [(TARGET_KEY, TARGET)]))
    c.add(report("call", "failed", [(TARGET_KEY, TARGET)], "E   RuntimeError: boom"))
    (only,) = c.records()
    assert only.state == "error" and "failed without a verdict" in only.summary
    assert "RuntimeError: boom" in only.summary


def test_a_teardown_error_after_passing_records_is_not_hidden() -> None:
    c = Collector()
    c.add(report("call", "passed", [(TARGET_KEY, TARGET), rec("pass")]))
    c.add(report("teardown", "failed", [(TARGET_KEY, TARGET), rec("pass")], "leftover"))
    states = sorted(r.state for r in c.records())
    assert states == ["error", "pass"]


def test_skips_carry_the_reason() -> None:
    c = Collector()
    c.add(report("setup", "skipped", [(TARGET_KEY, TARGET)], ("f.py", 3, "Skipped: no backend")))
    (only,) = c.records()
    assert only.state == "skipped" and only.summary == "no backend"


def test_unrelated_tests_are_ignored_but_their_failures_kept_for_the_headline() -> None:
    c = Collector()
    c.add(report("call", "passed", [], nodeid="ok"))
    c.add(report("call", "failed", [], "E   RuntimeError: boom"))
    assert not c and c.records() == []
    assert c.outside == {"t": "E   RuntimeError: boom"}


def test_a_failure_after_passing_records_is_an_error_cell_without_a_target() -> None:
    c = Collector()
    c.add(report("call", "failed", [rec("pass")], "E   AssertionError: late"))
    states = sorted((r.state, r.endpoint, r.check) for r in c.records())
    assert states == [("error", "GET /x", "status"), ("pass", "GET /x", "status")]
    assert c.outside == {}
