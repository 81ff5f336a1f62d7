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
    args = ["--replays", "50", "--sizes", "100,1000", "--cassette-sizes", "200,400"]
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench.py"), *args]
    cmd += ["--reports-dir", str(tmp_path), "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=240)
    data = json.loads(out.read_text(encoding="utf-8"))
    for key in NUMBERS:
        assert isinstance(data[key], int | float) and data[key] > 0, key
    assert data["smoke_api_s"] is None and data["make_test_s"] is None
