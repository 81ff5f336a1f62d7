"""``parity load`` says how far it is while it runs: the aggregated row of Locust's live
CSV, read every few seconds, as one line."""

from __future__ import annotations

import time
from pathlib import Path

from parity.checks.load import Progress, _live

CSV = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,\
80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,GET /health,10,0,5,5,1,9,20,5,0,5,6,6,7,8,9,9,9,9,9,9
,Aggregated,340,3,10,12,1,90,200,50,0.5,10,11,12,13,20,42,60,70,90,90,90
"""


def test_the_live_row_becomes_one_line(tmp_path: Path) -> None:
    csv = tmp_path / "run_stats.csv"
    csv.write_text(CSV, encoding="utf-8")
    progress = _live(csv, time.monotonic() - 12.3, 30)
    assert progress is not None
    assert progress == Progress(progress.elapsed_s, 30, 340, 3, 42.0)
    assert progress.line() == "12 s of 30 s: 340 requests, 3 failures, p95 42 ms"


def test_no_row_yet_is_no_line(tmp_path: Path) -> None:
    assert _live(tmp_path / "missing.csv", time.monotonic(), 30) is None
    header_only = tmp_path / "run_stats.csv"
    header_only.write_text(CSV.splitlines()[0] + "\n", encoding="utf-8")
    assert _live(header_only, time.monotonic(), 30) is None
    early = Progress(0.4, 30, 0, 0, None)
    assert early.line() == "0 s of 30 s: 0 requests, 0 failures, p95 -"
