"""Engine benchmarks (`make bench`): every figure is a ratio against a baseline measured in
the same run, printed beside its target, and written to reports/bench.json.

1. Replay overhead: the parity engine (run_case: send to Express, Serverless, Express again,
   normalize, diff, record) over the catalog's read-only scenarios (GET, no ``uses``/steps)
   against the embedded sandbox, versus a bare httpx client sending the same requests with
   the same concurrency.
2. Diff cost: normalize + diff of two envelopes holding a list of N items (1% differ) versus
   ``json.loads`` of the two bodies, per N (the ratio should stay flat: linear).
3. Inference: ``parity contracts`` (build_contracts) over generated cassettes of N exchanges,
   each size in its own subprocess: exchanges/s and peak RSS, versus a subprocess that only
   parses the same cassette lines.
4. ``--probes`` (alone): the probe family's wall time at the default budget versus the
   differential family on the same sandbox (benchmarks/probes.py).

Plain Python, no pytest: ``python benchmarks/bench.py --help``. No figure is asserted
anywhere; the targets are for a reader.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from parity.core.catalog import Case, Catalog, load_catalog  # noqa: E402
from parity.core.normalize import Rules  # noqa: E402
from parity.engine.diff import Answer, compare  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 150)

REPLAY_TARGET = 1.15
DIFF_TARGET = 20.0  # at 10k items
RSS_GROWTH_TARGET = 1.25  # peak RSS at the largest cassette / at the smallest

KEYS = (
    "replay_overhead_ratio",
    "diff_vs_parse_ratio",
    "inference_exchanges_per_s",
    "inference_peak_rss_mb_10k",
    "inference_peak_rss_mb_100k",
    "smoke_api_s",
    "make_test_s",
)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


# --- 1. replay overhead ---------------------------------------------------------------------


def read_only_cases(catalog: Catalog) -> list[Case]:
    return [
        c
        for c in catalog.cases()
        if c.endpoint.method == "GET" and not c.scenario.uses and not c.scenario.steps
    ]


def _timed_pool(jobs: Sequence[Any], fn: Callable[[Any], Any], concurrency: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in pool.map(fn, jobs):
            pass
    return time.perf_counter() - started


def verdict(records: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
    """What a replay of one case concluded: per check, the state and the differences (path,
    kind). Timings, dates and ids in the evidence are left out: they differ by nature."""
    return tuple(
        (
            r["check"],
            r["state"],
            tuple((d["path"], d["kind"]) for d in r["evidence"].get("differences", [])),
        )
        for r in records
    )


def bench_replay(
    replays: int, concurrency: int, catalog_path: Path, reports: Path, baseline_path: Path
) -> dict[str, Any]:
    from parity.core.config import Settings
    from parity.core.prepared import prepare
    from parity.engine.baseline import load_baseline
    from parity.engine.client import Backends
    from parity.engine.differential import LiveSource, run_case
    from parity.engine.launcher import SandboxProcess

    catalog = load_catalog(catalog_path)
    # The baseline `pytest -m parity` applies: without it, the API Gateway authorizer's 401
    # (7 of the 32 read-only scenarios) shows as drift on the clean pair.
    baseline = load_baseline(baseline_path)
    cases = read_only_cases(catalog)
    jobs = [cases[i % len(cases)] for i in range(replays)]
    run_id = secrets.token_hex(4)
    with SandboxProcess(log_file=reports / "bench-sandbox.log") as proc:
        settings = Settings.load(overrides={"backend": "both"}).with_env(proc.env)
        backends = Backends.from_settings(settings)
        reference = LiveSource(backends["express"], catalog, run_id)
        candidate = LiveSource(backends["serverless"], catalog, run_id)
        recorded: list[dict[str, Any]] = []
        verdicts: dict[str, list[tuple[Any, ...]]] = {}

        def engine(case: Case) -> None:
            outcome = run_case(case, reference, candidate, baseline=baseline)
            records = [r.to_dict() for r in outcome.records]
            recorded.extend(records)
            verdicts.setdefault(case.id, []).append(verdict(records))

        # The bare client: the same requests (reference, candidate, reference again), with
        # the same auth headers, already prepared; it only sends and reads the body.
        bare = {
            name: httpx.Client(base_url=backends[name].base_url, timeout=30.0)
            for name in ("express", "serverless")
        }
        plan: dict[str, tuple[str, str, list[tuple[str, dict[str, Any]]]]] = {}
        for case in cases:
            request = prepare(case.endpoint, case.scenario, {"run_id": run_id})
            sends = []
            for name in ("express", "serverless", "express"):
                headers = {**backends[name].auth.headers(request.role), **request.headers}
                kwargs: dict[str, Any] = {"params": request.params or None, "headers": headers}
                if request.has_json:
                    kwargs["json"] = request.json
                sends.append((name, kwargs))
            plan[case.id] = (request.method, request.path, sends)

        def bare_case(case: Case) -> None:
            method, path, sends = plan[case.id]
            for name, kwargs in sends:
                bare[name].request(method, path, **kwargs).read()

        for case in cases:  # warm up: tokens, connections, caches on both sides
            engine(case)
            bare_case(case)
        # the warm-up ran one case at a time: its verdicts are the reference the concurrent
        # replays must reproduce, whatever order the answers come back in
        serial = {case_id: found[0] for case_id, found in verdicts.items()}
        recorded.clear()
        verdicts.clear()
        half = len(jobs) // 2
        base_s = eng_s = 0.0
        for part in (jobs[:half], jobs[half:]):  # interleaved halves: drift hits both alike
            base_s += _timed_pool(part, bare_case, concurrency)
            eng_s += _timed_pool(part, engine, concurrency)
        for client in bare.values():
            client.close()
        backends.close()
    states: dict[str, int] = {}
    for record in recorded:
        states[record["state"]] = states.get(record["state"], 0) + 1
    differing = sorted(
        case_id
        for case_id, found in verdicts.items()
        if any(v != serial.get(case_id) for v in found)
    )
    return {
        "cases": len(cases),
        "replays": len(jobs),
        "requests": 3 * len(jobs),
        "concurrency": concurrency,
        "baseline_s": base_s,
        "engine_s": eng_s,
        "ratio": eng_s / base_s,
        "records": len(recorded),
        "states": states,
        "baseline": str(baseline_path),
        # cases whose concurrent verdict differed from their serial one (should be none)
        "order_dependent_cases": differing,
    }


# --- 2. diff cost ---------------------------------------------------------------------------


def envelope(n: int, changed: bool) -> bytes:
    items = []
    for i in range(n):
        title = f"MOC number {i}"
        if changed and i % 100 == 7:  # 1% of the items differ
            title += " (edited)"
        items.append(
            {
                "id": f"{i:08x}-0000-4000-8000-000000000000",
                "title": title,
                "theme": "Castle",
                "pieceCount": i % 5000,
                "tags": ["parity"],
            }
        )
    return json.dumps({"status": "ok", "data": {"items": items, "total": n}}).encode()


def _best(fn: Callable[[], Any], repeats: int) -> float:
    # GC off while timing: a collection pass landing in one side only is noise, not cost.
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best


def bench_diff(sizes: Sequence[int]) -> list[dict[str, Any]]:
    headers = {"content-type": "application/json; charset=utf-8"}
    rows = []
    for n in sizes:
        a, b = envelope(n, False), envelope(n, True)
        repeats = max(1, min(3, 100_000 // max(n, 1)))

        def parse(a: bytes = a, b: bytes = b) -> None:
            json.loads(a)
            json.loads(b)

        parse_s = _best(parse, repeats * 3)
        ja, jb = json.loads(a), json.loads(b)
        result: dict[str, Any] = {}

        def diff(ja: Any = ja, jb: Any = jb, result: dict[str, Any] = result) -> None:
            comparison = compare(
                Answer(200, headers, ja, None), Answer(200, headers, jb, None), rules=Rules()
            )
            result["differences"] = len(comparison.envelope)

        diff_s = _best(diff, repeats)
        rows.append(
            {
                "items": n,
                "bytes": len(a),
                "parse_s": parse_s,
                "diff_s": diff_s,
                "ratio": diff_s / parse_s,
                "differences": result["differences"],
            }
        )
    return rows


# --- 3. inference ---------------------------------------------------------------------------


def write_cassette(directory: Path, n: int, catalog: Catalog) -> None:
    from parity.engine.cassette import CassetteWriter, Recorded

    routes = [e for e in catalog.endpoints if e.method == "GET"][:8]
    with CassetteWriter(directory / "express.jsonl") as writer:
        for i in range(n):
            endpoint = routes[i % len(routes)]
            body = {
                "status": "ok",
                "data": {
                    "items": [
                        {
                            "id": f"{i:08x}-0000-4000-8000-{k:012x}",
                            "title": f"title {i} {k}",
                            "createdAt": "2024-05-01T12:00:00Z",
                            "pieceCount": i + k,
                            "albumId": None if (i + k) % 2 else f"{k:08x}-0000-4000-8000-0",
                        }
                        for k in range(i % 3)
                    ],
                    "total": i % 3,
                },
            }
            writer.write(
                Recorded(
                    backend="express",
                    method="GET",
                    route=endpoint.route,
                    status=200,
                    url=f"http://127.0.0.1:1{endpoint.route}",
                    endpoint=endpoint.id,
                    scenario="default",
                    role="anonymous",
                    expected=[200],
                    request={"headers": {"accept": "application/json"}, "body": None},
                    response={
                        "headers": {"content-type": "application/json"},
                        "json": body,
                        "text": None,
                    },
                    elapsed_ms=1.0,
                )
            )


def child(mode: str, cassettes: Path, catalog_path: Path) -> None:
    """Runs in a subprocess: one measurement, its own peak RSS, one JSON line on stdout."""
    from parity.engine.cassette import cassette_files
    from parity.engine.infer import build_contracts

    catalog = load_catalog(catalog_path)
    started = time.perf_counter()
    if mode == "infer":
        with tempfile.TemporaryDirectory() as out:
            samples = build_contracts(cassettes, Path(out), catalog=catalog).samples
    else:  # parse: read the same lines, json.loads each, keep nothing
        samples = 0
        for path in cassette_files(cassettes):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    json.loads(line)
                    samples += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"samples": samples, "seconds": seconds, "rss_mb": _peak_rss_mb()}))


def _peak_rss_mb() -> float:
    """This process' peak RSS. VmHWM on Linux: ru_maxrss survives exec, so a child forked
    from a big parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run_child(mode: str, cassettes: Path, catalog_path: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, str(cassettes)]
    cmd += ["--catalog", str(catalog_path)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def bench_infer(sizes: Sequence[int], catalog_path: Path) -> list[dict[str, Any]]:
    catalog = load_catalog(catalog_path)
    rows = []
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as tmp:
        for n in sizes:
            directory = Path(tmp) / str(n)
            write_cassette(directory, n, catalog)
            parse = _run_child("parse", directory, catalog_path)
            infer = _run_child("infer", directory, catalog_path)
            rows.append(
                {
                    "exchanges": n,
                    "cassette_mb": (directory / "express.jsonl").stat().st_size / 1e6,
                    "parse_s": parse["seconds"],
                    "infer_s": infer["seconds"],
                    "exchanges_per_s": infer["samples"] / infer["seconds"],
                    "ratio": infer["seconds"] / parse["seconds"],
                    "parse_rss_mb": parse["rss_mb"],
                    "rss_mb": infer["rss_mb"],
                }
            )
    return rows


# --- 4. the suite (opt-in, slow) ------------------------------------------------------------

#: key -> pytest arguments. Each run writes its reports to its own folder under
#: REPORTS/bench-suite, so a timing run does not overwrite the user's matrix.
SUITES: dict[str, list[str]] = {
    "smoke_api_s": ["api_checks", "-m", "smoke and not e2e"],
    "contract_s": ["contracts"],
    "parity_sandbox_s": ["api_checks", "-m", "parity"],
}
SUITE_TARGETS = {"smoke_api_s": 30.0, "make_test_s": 15 * 60.0}


def _time(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    started = time.perf_counter()
    code = subprocess.run(cmd, cwd=ROOT, check=False, env=env).returncode
    return time.perf_counter() - started, code


def bench_suite(reports: Path, make_test: bool, previous: Path) -> dict[str, Any]:
    """Wall times of the QA suites; ``make test`` only with ``make_test`` (6+ minutes).
    Otherwise ``make_test_s`` is the last one recorded in ``previous`` (an earlier
    bench.json), with where it came from, or None."""
    out: dict[str, Any] = {"runs": {}}
    for key, args in SUITES.items():
        env = {**os.environ, "PARITY_REPORTS_DIR": str(reports / "bench-suite" / key)}
        cmd = [sys.executable, "-m", "pytest", "-q", *args]
        seconds, code = _time(cmd, env)
        out[key] = seconds
        out["runs"][key] = {"cmd": " ".join(["pytest", *cmd[3:]]), "exit": code}
    if make_test:
        seconds, code = _time(["make", "test"])
        out["make_test_s"] = seconds
        out["runs"]["make_test_s"] = {
            "cmd": "make test",
            "exit": code,
            "source": "measured in this run",
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
    else:
        out.update(_previous_make_test(previous))
    return out


def _previous_make_test(path: Path) -> dict[str, Any]:
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
        seconds = old.get("make_test_s")
        run = dict(old["details"]["suite"]["runs"]["make_test_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return {"make_test_s": None}
    if not isinstance(seconds, int | float):
        return {"make_test_s": None}
    if run.get("source") == "measured in this run":
        run["source"] = f"recorded in {path} by an earlier run"
    return {"make_test_s": seconds, "runs": {"make_test_s": run}}


# --- report ---------------------------------------------------------------------------------


def _ok(good: bool, bad: str = "over") -> str:
    return "[green]ok[/]" if good else f"[red]{bad}[/]"


def report(
    replay: dict[str, Any] | None,
    diffs: list[dict[str, Any]],
    infers: list[dict[str, Any]],
    suite: dict[str, Any],
    out: Path,
) -> dict[str, Any]:
    table = Table(title="parity engine benchmarks (ratios against a baseline of the same run)")
    for col in ("figure", "measured", "baseline", "ratio", "target", ""):
        table.add_column(col, justify="right" if col in ("ratio", "target") else "left")
    if replay is not None:
        table.add_row(
            f"replay {replay['replays']}x{replay['cases']} read-only cases "
            f"({replay['requests']} requests, concurrency {replay['concurrency']})",
            f"engine {replay['engine_s']:.2f} s",
            f"bare httpx {replay['baseline_s']:.2f} s",
            f"{replay['ratio']:.2f}x",
            f"<= {REPLAY_TARGET}x",
            _ok(replay["ratio"] <= REPLAY_TARGET),
        )
    if replay is not None:
        failing = sum(replay["states"].get(k, 0) for k in ("drift", "missing", "error"))
        order = replay["order_dependent_cases"]
        counts = ", ".join(f"{k} {v}" for k, v in sorted(replay["states"].items()))
        table.add_row(
            "replay verdicts on the clean pair",
            f"{replay['records']} records: {counts}",
            "serial warm-up verdicts",
            f"{len(order)} case(s) differ",
            "no drift, none differ",
            _ok(failing == 0 and not order, "FAILED"),
        )
    for row in diffs:
        at_target = row["items"] == 10_000
        table.add_row(
            f"diff {_label(row['items'])} items ({row['bytes'] / 1e6:.2f} MB, "
            f"{row['differences']} diffs)",
            f"normalize+diff {row['diff_s'] * 1000:.1f} ms",
            f"json.loads x2 {row['parse_s'] * 1000:.1f} ms",
            f"{row['ratio']:.1f}x",
            f"< {DIFF_TARGET:.0f}x" if at_target else "flat",
            _ok(row["ratio"] < DIFF_TARGET) if at_target else "",
        )
    for row in infers:
        table.add_row(
            f"infer {_label(row['exchanges'])} exchanges ({row['cassette_mb']:.1f} MB)",
            f"{row['exchanges_per_s']:,.0f} exch/s, {row['rss_mb']:.0f} MB peak",
            f"parse-only {row['parse_s']:.2f} s, {row['parse_rss_mb']:.0f} MB",
            f"{row['ratio']:.1f}x time",
            "flat",
            "",
        )
    if len(infers) >= 2:
        growth = infers[-1]["rss_mb"] / infers[0]["rss_mb"]
        rate = infers[-1]["exchanges_per_s"] / infers[0]["exchanges_per_s"]
        table.add_row(
            f"infer growth {_label(infers[0]['exchanges'])} -> {_label(infers[-1]['exchanges'])}",
            f"peak RSS x{growth:.2f}",
            f"exch/s x{rate:.2f}",
            f"{growth:.2f}x RSS",
            f"<= {RSS_GROWTH_TARGET}x",
            _ok(growth <= RSS_GROWTH_TARGET),
        )
    runs = suite.get("runs", {})
    for key in (*SUITES, "make_test_s"):
        seconds = suite.get(key)
        if seconds is None:
            continue
        run = runs.get(key, {})
        target = SUITE_TARGETS.get(key)
        table.add_row(
            f"{run.get('cmd', key)} (exit {run.get('exit', '?')})",
            f"{seconds:.1f} s",
            run.get("source", "wall time, this run"),
            "",
            f"< {target:.0f} s" if target else "",
            _ok(seconds < target and run.get("exit") == 0) if target else "",
        )
    console.print(table)

    def rss(n: int) -> float | None:
        return next((r["rss_mb"] for r in infers if r["exchanges"] == n), None)

    at_10k = next((r for r in diffs if r["items"] == 10_000), diffs[-1] if diffs else None)
    result: dict[str, Any] = {
        "replay_overhead_ratio": replay["ratio"] if replay else None,
        "diff_vs_parse_ratio": at_10k["ratio"] if at_10k else None,
        "inference_exchanges_per_s": infers[-1]["exchanges_per_s"] if infers else None,
        # the named sizes; with other --cassette-sizes, the smallest and the largest
        "inference_peak_rss_mb_10k": rss(10_000) or (infers[0]["rss_mb"] if infers else None),
        "inference_peak_rss_mb_100k": rss(100_000) or (infers[-1]["rss_mb"] if infers else None),
        "smoke_api_s": suite.get("smoke_api_s"),
        "make_test_s": suite.get("make_test_s"),
        "contract_s": suite.get("contract_s"),
        "parity_sandbox_s": suite.get("parity_sandbox_s"),
        "targets": {
            "replay_overhead_ratio": REPLAY_TARGET,
            "diff_vs_parse_ratio_at_10k": DIFF_TARGET,
            "inference_rss_growth": RSS_GROWTH_TARGET,
        },
        "details": {"replay": replay, "diff": diffs, "inference": infers, "suite": suite},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(f"written: {out}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--replays", type=int, default=2000, help="run_case calls (default 2000)")
    parser.add_argument("--concurrency", type=int, default=4, help="threads, both sides")
    parser.add_argument("--sizes", type=_ints, default=[1_000, 10_000, 100_000], help="diff")
    parser.add_argument("--cassette-sizes", type=_ints, default=[10_000, 100_000], help="inference")
    parser.add_argument("--catalog", type=Path, default=ROOT / "fixtures" / "catalog.yaml")
    parser.add_argument("--reports-dir", type=Path, default=ROOT / "reports")
    parser.add_argument("--out", type=Path, default=None, help="default REPORTS/bench.json")
    parser.add_argument("--baseline", type=Path, default=ROOT / "parity-baseline.toml")
    parser.add_argument(
        "--suite", action="store_true", help="also time the smoke, contract and parity checks"
    )
    parser.add_argument(
        "--make-test", action="store_true", help="with --suite: also time make test (6+ min)"
    )
    parser.add_argument(
        "--probes",
        action="store_true",
        help="only the probe family's wall time at the default budget (docs/bench.md); "
        "writes REPORTS/bench-probes.json",
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), args.catalog)
        return 0
    reports: Path = args.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    if args.probes:
        return _probes(reports, args.out or reports / "bench-probes.json")
    with console.status("replay overhead (starting the sandbox)..."):
        replay = bench_replay(args.replays, args.concurrency, args.catalog, reports, args.baseline)
    with console.status("diff cost..."):
        diffs = bench_diff(args.sizes)
    with console.status("inference..."):
        infers = bench_infer(args.cassette_sizes, args.catalog)
    out = args.out or reports / "bench.json"
    suite: dict[str, Any] = {"smoke_api_s": None, "make_test_s": None}
    if args.suite:
        suite = bench_suite(reports, args.make_test, out)
    report(replay, diffs, infers, suite, out)
    return 0


def _probes(reports: Path, out: Path) -> int:
    from benchmarks.probes import bench_probes, print_report

    with console.status("probe family (starting the sandbox)..."):
        result = bench_probes(reports)
    print_report(result, console)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    console.print(f"written: {out}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
