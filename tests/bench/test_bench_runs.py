"""`benchmarks/bench.py` runs end to end at tiny sizes and writes every key (no timing
thresholds: the figures are for a reader, see docs/bench.md)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NUMBERS = (
    "replay_overhead_ratio",
    "diff_vs_parse_ratio",
    "inference_exchanges_per_s",
    "inference_peak_rss_mb_10k",
    "inference_peak_rss_mb_100k",
)


def test_bench_runs_and_writes_every_key(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--replays", "64", "--concurrency", "4", "--sizes", "100,1000"]
    args += ["--cassette-sizes", "200,400"]
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench.py"), *args]
    cmd += ["--reports-dir", str(tmp_path), "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=240)
    data = json.loads(out.read_text(encoding="utf-8"))
    for key in NUMBERS:
        assert isinstance(data[key], int | float) and data[key] > 0, key
    assert data["smoke_api_s"] is None and data["make_test_s"] is None
    # The replays of the clean pair, four at a time, judged with the project's baseline: no
    # drift (the authorizer's 401 is accepted, not passed), and every replay of a case
    # reached the verdict its serial run did.
    replay = data["details"]["replay"]
    states = replay["states"]
    assert replay["records"] == 3 * 64 == sum(states.values())
    assert not {"drift", "missing", "error"} & set(states), states
    assert states.get("accepted", 0) > 0 and states.get("pass", 0) > 0, states
    assert replay["order_dependent_cases"] == []
    # the diff row counts what differs: 1% of the items
    assert [row["differences"] for row in data["details"]["diff"]] == [1, 10]


def test_make_test_time_comes_from_an_earlier_run_or_is_null(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    earlier = tmp_path / "bench.json"
    assert bench._previous_make_test(earlier) == {"make_test_s": None}  # never measured
    run = {"cmd": "make test", "exit": 0, "source": "measured in this run", "at": "then"}
    earlier.write_text(
        json.dumps({"make_test_s": 400.0, "details": {"suite": {"runs": {"make_test_s": run}}}})
    )
    carried = bench._previous_make_test(earlier)
    assert carried["make_test_s"] == 400.0
    assert carried["runs"]["make_test_s"]["source"] == f"recorded in {earlier} by an earlier run"
    earlier.write_text(json.dumps({"make_test_s": None}))
    assert bench._previous_make_test(earlier) == {"make_test_s": None}
