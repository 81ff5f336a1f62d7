"""The pure parts of ``parity load``: think time, error kinds, how many requests resolve a
rate. No Locust run here (tests/load/test_load_gate.py has those)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from parity.checks.load import (
    LoadRun,
    failure_kind,
    failures_by_kind,
    parse_think_time,
    requests_to_resolve,
)
from parity.core.errors import UsageError


@pytest.mark.parametrize(
    ("text", "bounds", "env"),
    [("0.5-2", (0.5, 2.0), "0.5-2"), ("0", (0.0, 0.0), "0"), (" 1.5 ", (1.5, 1.5), "1.5")],
)
def test_think_time_is_a_range_or_one_number(
    text: str, bounds: tuple[float, float], env: str
) -> None:
    assert parse_think_time(text) == bounds
    assert LoadRun(users=1, duration_s=1, think_time_s=bounds).wait_env == env


@pytest.mark.parametrize("text", ["", "fast", "2-1", "-1", "1-", "nan", "inf"])
def test_a_bad_think_time_names_the_option_and_the_fix(text: str) -> None:
    with pytest.raises(UsageError, match=r"--think-time: invalid think time .* or 0 for none"):
        parse_think_time(text)


def test_requests_to_resolve_is_the_least_n_whose_3_sigma_bound_clears_the_threshold() -> None:
    n = requests_to_resolve(0.05, 0.02)
    assert n == 476
    bound = lambda k: 0.05 - 3 * math.sqrt(0.05 * 0.95 / k)  # noqa: E731
    assert bound(n) > 0.02 >= bound(n - 1) - 1e-12  # n - 1 = 475 sits exactly on 2 %
    assert requests_to_resolve(0.05, 0.02, sigmas=4) > n  # stricter needs more
    assert requests_to_resolve(0.001, 0.02) < n  # a clean backend is told apart sooner
    with pytest.raises(ValueError, match="never resolved"):
        requests_to_resolve(0.02, 0.02)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("HTTPError('500 Server Error: Internal Server Error for url: GET /api/mocs')",
         "HTTP 500"),
        ("CatchResponseError('404 Client Error: Not Found for url: DELETE /api/wishlist/x')",
         "HTTP 404"),
        ("ConnectionRefusedError(111, 'Connection refused')", "ConnectionRefusedError"),
        ("requests.exceptions.ReadTimeout('timed out')", "ReadTimeout"),
    ],
)  # fmt: skip
def test_failure_kinds_keep_the_status_and_drop_the_url(error: str, kind: str) -> None:
    assert failure_kind(error) == kind


def test_failures_by_kind_adds_up_occurrences_over_endpoints(tmp_path: Path) -> None:
    rows = [
        {"method": "GET", "name": "GET /api/mocs", "occurrences": 7,
         "error": "HTTPError('500 Server Error: Internal Server Error for url: GET /api/mocs')"},
        {"method": "GET", "name": "GET /api/mocs/stats", "occurrences": 2,
         "error": "HTTPError('500 Server Error: Internal Server Error for url: x')"},
        {"method": "GET", "name": "GET /api/wishlist", "occurrences": 1,
         "error": "HTTPError('401 Client Error: Unauthorized for url: GET /api/wishlist')"},
    ]  # fmt: skip
    path = tmp_path / "failures.json"
    path.write_text(json.dumps(rows))
    assert failures_by_kind(path) == {"HTTP 401": 1, "HTTP 500": 9}
    path.write_text("[]")
    assert failures_by_kind(path) == {}
    with pytest.raises(Exception, match="no readable error list"):
        failures_by_kind(tmp_path / "absent.json")
