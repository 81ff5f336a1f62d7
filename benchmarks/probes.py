"""The probe family's wall time (``benchmarks/bench.py --probes``): ``pytest -m probe`` at
the default budget against one embedded sandbox, against a baseline measured in the same
run on the same sandbox, the differential family (``pytest api_checks/test_parity.py -m
parity``: every catalog scenario on both backends). Both runs are given the sandbox's URLs,
so neither pays its start; a third run, ``pytest -m probe`` with no URL (every test path
collected, the embedded sandbox starting itself, as a user's bare run does), gives the
figure a user sees. Requests are counted per test by ``benchmarks.probe_counter``; probe cells and
probes per endpoint come from the matrix the probe run writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROBES = ["api_checks/test_probes.py", "-m", "probe"]
#: What a user types: every test path collected, the probe tests selected.
BARE = ["-m", "probe"]
PARITY = ["api_checks/test_parity.py", "-m", "parity"]
#: What the default budget must keep ``pytest -m probe`` under on the sandbox (2 cores).
TARGET_S = 60.0


def _pytest(
    args: list[str], env: dict[str, str], reports: Path, counts: Path | None
) -> tuple[float, int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    env = {**clean, **env, "PARITY_REPORTS_DIR": str(reports)}
    extra = []
    if counts is not None:
        env["PARITY_BENCH_COUNTS"] = str(counts)
        extra = ["-p", "benchmarks.probe_counter"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", *extra, *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc.returncode, proc.stdout[-2000:]


def bench_probes(reports: Path) -> dict[str, Any]:
    from parity.engine.launcher import SandboxProcess

    out: dict[str, Any] = {"target_s": TARGET_S}
    with SandboxProcess(log_file=reports / "bench-probes-sandbox.log") as sandbox:
        env = {**sandbox.env, "PARITY_BACKEND": "both"}
        runs: dict[str, dict[str, Any]] = {}
        for key, args in (("parity", PARITY), ("probe", PROBES)):
            counts = reports / f"bench-{key}-requests.json"
            seconds, code, tail = _pytest(args, env, reports / f"bench-{key}", counts)
            requests = json.loads(counts.read_text()) if counts.exists() else {}
            runs[key] = {
                "cmd": "pytest " + " ".join(args),
                "seconds": seconds,
                "exit": code,
                "requests": sum(sum(s.values()) for s in requests.values()),
                "tail": tail.strip().splitlines()[-1:] if tail else [],
            }
            if key == "probe":
                matrix = json.loads((reports / "bench-probe" / "parity-matrix.json").read_text())
                out["endpoints"] = _endpoint_table(matrix, requests)
                out["states"] = dict(
                    Counter(c["state"] for c in matrix["cells"] if c["check"].startswith("probe:"))
                )
    seconds, code, tail = _pytest(BARE, {}, reports / "bench-probe-bare", None)
    runs["probe_bare"] = {
        "cmd": "pytest " + " ".join(BARE) + " (no URL: the embedded sandbox starts itself)",
        "seconds": seconds,
        "exit": code,
        "tail": tail.strip().splitlines()[-1:] if tail else [],
    }
    out["runs"] = runs
    out["ratio"] = runs["probe"]["seconds"] / runs["parity"]["seconds"]
    return out


def _endpoint_table(matrix: dict[str, Any], requests: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Per catalog endpoint key: probe cells, records, probes judged, requests sent."""
    by_test = {test.rsplit("[", 1)[-1].rstrip("]"): sum(s.values()) for test, s in requests.items()}
    rows: dict[str, dict[str, Any]] = {}
    for cell in matrix["cells"]:
        if not cell["check"].startswith("probe:"):
            continue
        row = rows.setdefault(cell["endpoint"], {"cells": 0, "records": 0, "probes": 0})
        row["cells"] += 1
        for record in cell["records"]:
            evidence = record["evidence"] or cell["evidence"]
            row["records"] += 1
            row["probes"] += int(evidence.get("probe_count") or 0)
            endpoint_id = (record.get("test_id") or "").rsplit("[", 1)[-1].rstrip("]")
            if endpoint_id in by_test:  # one test per endpoint: its requests, all kinds
                row["requests"] = by_test[endpoint_id]
    return rows


def print_report(result: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    runs = result["runs"]
    table = Table(title="probe family wall time (default budget, embedded sandbox)")
    for col in ("run", "seconds", "requests", "exit"):
        table.add_column(col)
    for key in ("parity", "probe", "probe_bare"):
        run = runs[key]
        table.add_row(
            run["cmd"], f"{run['seconds']:.1f}", str(run.get("requests", "-")), str(run["exit"])
        )
    console.print(table)
    console.print(
        f"probe / parity on the same sandbox: {result['ratio']:.2f}x; "
        f"bare `pytest -m probe`: {runs['probe_bare']['seconds']:.1f} s (target < {TARGET_S:.0f} s)"
    )
    rows = Table(title="per endpoint")
    for col in ("endpoint", "probe cells", "records", "probes", "requests"):
        rows.add_column(col)
    for endpoint, row in result["endpoints"].items():
        rows.add_row(
            endpoint,
            str(row["cells"]),
            str(row["records"]),
            str(row["probes"]),
            str(row.get("requests", "-")),
        )
    console.print(rows)
