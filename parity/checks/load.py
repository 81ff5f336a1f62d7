"""``parity load``: run the Locust user mix (``load/locustfile.py``, built from the
catalog's ``checks.load`` by :mod:`parity.core.load_mix`) headless against each backend in turn
with the same settings, and turn Locust's final stats (``--json-file``) into
``reports/load-<backend>.json``.

Locust runs as a child process (``python -m locust``), so this module needs nothing from
Locust at import time. ``workers=N`` starts a Locust master (``--master --expect-workers
N``) and N local ``--worker`` processes; the master aggregates and writes one stats file, so the
result is one merged document either way. Workers on other machines join with
``locust -f load/locustfile.py --worker --master-host HOST --master-port PORT`` (see
docs/rollout-runbook.md).

Tokens for the mix's logged-in roles are fetched here (the same token providers as the
checks) and handed to Locust in its environment (``PARITY_LOAD_TOKEN_<ROLE>``); they are
never written to a file. The load document (``schema_version`` 1)::

    {"schema_version": 1, "backend": "serverless", "host": "...", "generated_at": "...",
     "users": 5, "spawn_rate": 5, "duration_s": 5, "workers": 0, "think_time_s": [0.5, 2.0],
     "overall": {"requests", "failures", "error_rate", "p50_ms", "p95_ms", "p99_ms",
                 "avg_ms", "rps"},
     "endpoints": [{"name": "GET /things/{thingId}", ...same keys...}, ...],
     "failures_by_kind": {"HTTP 500": 12, "ConnectionError": 1}}

``failures_by_kind`` groups Locust's failures by status code (or exception class): it says
*what* the errors were without copying Locust's messages, which carry URLs.

While it runs, the locustfile writes how far it is (users, requests, failures, p95) to
``PARITY_LOAD_PROGRESS_FILE`` every second (the master's merged figures with workers, which
report every second too); :func:`run_locust` reads it every ``every_s`` seconds
(:class:`Progress`), starting the moment Locust is started.

Think time (``think_time_s``, ``PARITY_LOAD_WAIT`` for the locustfile) is the pause of each
user between tasks, ``"MIN-MAX"`` or ``"SECONDS"``; ``0`` sends as fast as the target
answers, so a run of a few seconds makes enough requests to resolve an error rate (see
:func:`requests_to_resolve`).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from parity.core.config import Settings
from parity.core.config_model import role_env_key
from parity.core.errors import ParityError, UsageError
from parity.core.extras import require_extra

__all__ = [
    "DEFAULT_THINK_TIME",
    "FAILURES_ENV",
    "LOCUSTFILE",
    "PROGRESS_ENV",
    "PROGRESS_EVERY_S",
    "THINK_TIME_ENV",
    "LoadRun",
    "Progress",
    "failure_kind",
    "failures_by_kind",
    "load_document",
    "parse_stats_json",
    "parse_think_time",
    "percentile",
    "requests_to_resolve",
    "run_locust",
    "token_env",
    "write_load",
]

_IN_TREE = Path(__file__).resolve().parents[2] / "load" / "locustfile.py"
#: The repository's locustfile; from an installed wheel (which has no ``load/``), the one
#: in the check folders a user copied next to it (``./load/locustfile.py``).
LOCUSTFILE = _IN_TREE if _IN_TREE.is_file() else Path("load") / "locustfile.py"
SCHEMA_VERSION = 1
#: Between tasks, like a person reading a page; ``0`` for a short, dense run.
DEFAULT_THINK_TIME = "0.5-2"
THINK_TIME_ENV = "PARITY_LOAD_WAIT"
FAILURES_ENV = "PARITY_LOAD_FAILURES_FILE"  # where the locustfile writes the final errors
PROGRESS_ENV = "PARITY_LOAD_PROGRESS_FILE"  # where it writes how far it is, every second
PROGRESS_EVERY_S = 2.0  # how often run_locust reports it


def parse_think_time(text: str, where: str = "--think-time") -> tuple[float, float]:
    """``"0.5-2"`` -> ``(0.5, 2.0)``, ``"1"`` -> ``(1.0, 1.0)``, ``"0"`` -> no pause."""
    low, sep, high = str(text).strip().partition("-")
    try:
        bounds = (float(low), float(high if sep else low))
    except ValueError:
        bounds = (-1.0, -1.0)
    if not (0 <= bounds[0] <= bounds[1] and all(math.isfinite(b) for b in bounds)):
        raise UsageError(
            f"{where}: invalid think time {text!r}",
            hint="Use seconds between tasks, MIN-MAX such as 0.5-2, or 0 for none",
        )
    return bounds


def requests_to_resolve(rate: float, threshold: float, sigmas: float = 3.0) -> int:
    """How many requests a run needs before a true error rate ``rate`` is told apart from
    ``threshold``: the least n with ``|rate - threshold| > sigmas * sqrt(rate(1-rate)/n)``
    (binomial standard error, normal approximation)."""
    # exact fractions: at the boundary (p=0.05, 2 %, 3 sigma: n = 475 gives exactly 2 %)
    # float rounding would pick the wrong side
    p, t, k = (Fraction(str(x)) for x in (rate, threshold, sigmas))
    if p == t:
        raise ValueError("a rate equal to the threshold is never resolved")
    return math.floor(k**2 * p * (1 - p) / (p - t) ** 2) + 1


@dataclass(frozen=True)
class LoadRun:
    users: int
    duration_s: int
    spawn_rate: float | None = None  # None: all users at once (rate = users)
    workers: int = 0
    locustfile: Path = LOCUSTFILE
    think_time_s: tuple[float, float] = (0.5, 2.0)

    @property
    def rate(self) -> float:
        return self.spawn_rate or float(self.users)

    @property
    def wait_env(self) -> str:
        """The think time as the locustfile reads it (``PARITY_LOAD_WAIT``)."""
        low, high = self.think_time_s
        return f"{low:g}" if low == high else f"{low:g}-{high:g}"


def percentile(histogram: Mapping[int | str, int], fraction: float) -> float | None:
    """The response time (ms) under which ``fraction`` of the requests finished.

    ``histogram`` is Locust's ``response_times`` (rounded ms -> count)."""
    counts = sorted((float(ms), n) for ms, n in histogram.items())
    total = sum(n for _, n in counts)
    if not total:
        return None
    need = max(1, math.ceil(total * fraction))
    seen = 0
    for ms, n in counts:
        seen += n
        if seen >= need:
            return ms
    return counts[-1][0]


def _figures(
    requests: int, failures: int, histogram: Mapping[int | str, int], total_ms: float, span_s: float
) -> dict[str, Any]:
    return {
        "requests": requests,
        "failures": failures,
        "error_rate": round(failures / requests, 6) if requests else 0.0,
        "p50_ms": percentile(histogram, 0.50),
        "p95_ms": percentile(histogram, 0.95),
        "p99_ms": percentile(histogram, 0.99),
        "avg_ms": round(total_ms / requests, 1) if requests else None,
        "rps": round(requests / span_s, 2) if span_s > 0 else 0.0,
    }


def parse_stats_json(path: Path) -> dict[str, Any]:
    """Locust's ``--json-file`` output -> ``{"overall": {...}, "endpoints": [...]}``.

    The overall figures merge every endpoint's response-time histogram (Locust's
    "Aggregated" row); requests per second are over the span from first to last request.
    """
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParityError(f"Locust wrote no readable stats ({path}: {exc})") from None
    starts = [float(e["start_time"]) for e in entries if e.get("start_time")]
    ends = [float(e["last_request_timestamp"]) for e in entries if e.get("last_request_timestamp")]
    span = max(1.0, max(ends, default=0.0) - min(starts, default=0.0)) if starts else 1.0
    endpoints = []
    merged: Counter[int | str] = Counter()
    requests = failures = 0
    total_ms = 0.0
    for e in entries:
        method, name = str(e.get("method") or ""), str(e.get("name") or "")
        label = name if name.startswith(f"{method} ") or not method else f"{method} {name}"
        histogram = {k: int(v) for k, v in (e.get("response_times") or {}).items()}
        n, f = int(e.get("num_requests") or 0), int(e.get("num_failures") or 0)
        endpoints.append(
            {
                "name": label,
                **_figures(n, f, histogram, float(e.get("total_response_time") or 0), span),
            }
        )
        merged.update(histogram)
        requests, failures = requests + n, failures + f
        total_ms += float(e.get("total_response_time") or 0)
    endpoints.sort(key=lambda x: x["name"])
    return {"overall": _figures(requests, failures, merged, total_ms, span), "endpoints": endpoints}


def failure_kind(error: str) -> str:
    """Locust's error text -> ``"HTTP 500"`` or the exception's class name.

    Locust reports a bad status as ``HTTPError('500 Server Error: ... for url: ...')`` or,
    with ``catch_response``, as ``CatchResponseError('... 500 ...')``; the URL is dropped."""
    name = error.split("(", 1)[0].strip() or "error"
    if "HTTPError" in name or "CatchResponseError" in name:
        match = re.search(r"\b([1-5]\d\d)\b", error)
        if match:
            return f"HTTP {match.group(1)}"
    return name.rsplit(".", 1)[-1][:60]


def failures_by_kind(path: Path) -> dict[str, int]:
    """The locustfile's final error list (``PARITY_LOAD_FAILURES_FILE``, written when the
    run quits: Locust's own ``_failures.csv`` is only refreshed every second and misses the
    last ones) -> occurrences per :func:`failure_kind`."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParityError(f"Locust wrote no readable error list ({path}: {exc})") from None
    kinds: Counter[str] = Counter()
    for row in rows if isinstance(rows, list) else []:
        kinds[failure_kind(str(row.get("error") or ""))] += int(row.get("occurrences") or 0)
    return dict(sorted(kinds.items()))


def load_document(
    backend: str, host: str, run: LoadRun, stats: Mapping[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "backend": backend,
        "host": host,
        "generated_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "users": run.users,
        "spawn_rate": run.rate,
        "duration_s": run.duration_s,
        "workers": run.workers,
        "think_time_s": list(run.think_time_s),
        **stats,
    }


def write_load(doc: Mapping[str, Any], reports_dir: Path) -> Path:
    reports_dir.mkdir(parents=True, exist_ok=True)
    out = reports_dir / f"load-{doc['backend']}.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out


def token_env(settings: Settings, backend: str, roles: Iterable[str]) -> dict[str, str]:
    """``PARITY_LOAD_TOKEN_<ROLE>`` for the logged-in ``roles`` of the mix that have
    credentials (a role without any is left to the mix: its tasks do not run), and how the
    header is made."""
    from parity.engine.auth import provider_for

    auth = settings.auth_for(backend)
    env = {
        "PARITY_LOAD_AUTH_HEADER": auth.header,
        "PARITY_LOAD_AUTH_TEMPLATE": auth.template,
        "PARITY_LOAD_AUTH_MODE": auth.mode,
    }
    known = (
        (lambda r: role_env_key(r) in auth.tokens)
        if auth.mode == "static"
        else (lambda r: r in settings.users)
    )
    wanted = [r for r in roles if known(r)]
    if auth.mode == "none" or not wanted:
        return env
    provider = provider_for(settings, backend)
    try:
        for role in wanted:
            env[f"PARITY_LOAD_TOKEN_{role_env_key(role)}"] = provider.token(role)
    finally:
        provider.close()
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@dataclass(frozen=True)
class Progress:
    """How far a running load run is: the locustfile's progress file (Locust's aggregated
    figures and its user count), or, before Locust has started its users, ``requests`` None
    and the users it is about to start."""

    elapsed_s: float
    duration_s: int
    users: int
    requests: int | None = None
    failures: int = 0
    p95_ms: float | None = None

    def line(self) -> str:
        head = f"{min(self.elapsed_s, self.duration_s):.0f} s of {self.duration_s} s: "
        if self.requests is None:
            return f"{head}starting {self.users} users"
        p95 = f"p95 {self.p95_ms:.0f} ms" if self.p95_ms is not None else "p95 -"
        return (
            f"{head}{self.users} users, {self.requests} requests, {self.failures} failures, {p95}"
        )


def _live(path: Path, run: LoadRun) -> Progress:
    """The locustfile's progress file (``{"elapsed_s", "users", "requests", "failures",
    "p95_ms"}``, replaced every second; no ``elapsed_s`` before the run's users start) ->
    :class:`Progress`; no file or no start yet: starting ``run.users`` users."""
    starting = Progress(0.0, run.duration_s, run.users)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return starting
    if not isinstance(doc, dict) or doc.get("elapsed_s") is None:
        return starting
    try:
        p95 = doc.get("p95_ms")
        return Progress(
            float(doc["elapsed_s"]),
            run.duration_s,
            int(doc["users"]),
            int(doc["requests"]),
            int(doc["failures"]),
            float(p95) if p95 is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        return starting


def run_locust(
    host: str,
    run: LoadRun,
    env: Mapping[str, str],
    log_file: Path,
    on_progress: Callable[[Progress], None] | None = None,
    every_s: float = PROGRESS_EVERY_S,
) -> dict[str, Any]:
    """Run Locust headless against ``host``; return the parsed stats (merged over workers).

    ``on_progress`` is called once as Locust is started (the users about to start) and then
    about every ``every_s`` seconds while it runs (a long run in CI is otherwise minutes of
    silence)."""
    require_extra("load", "parity load")  # Locust runs as a child: say so before it starts
    if not run.locustfile.is_file():
        raise UsageError(
            f"no locustfile at {run.locustfile}",
            hint="Restore load/locustfile.py (or copy the repository's load/ folder here)",
        )
    locust = [sys.executable, "-m", "locust", "-f", str(run.locustfile)]
    with tempfile.TemporaryDirectory(prefix="parity-load-") as tmp:
        prefix = str(Path(tmp) / "run")
        child_env = {
            **os.environ,
            **env,
            THINK_TIME_ENV: run.wait_env,
            FAILURES_ENV: prefix + "_failures.json",
            PROGRESS_ENV: prefix + "_progress.json",
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [
            *locust,
            "--headless",
            "--host",
            host,
            "-u",
            str(run.users),
            "-r",
            str(run.rate),
            "-t",
            f"{run.duration_s}s",
            "--json-file",
            prefix,
            "--only-summary",
            "--exit-code-on-error",
            "0",
            "--stop-timeout",
            "2",
            "--loglevel",
            "WARNING",
        ]
        port = _free_port() if run.workers else 0
        if run.workers:
            cmd += [
                "--master",
                "--expect-workers",
                str(run.workers),
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(port),
            ]
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("wb") as log:
            master = subprocess.Popen(
                cmd,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            workers = [
                subprocess.Popen(
                    [
                        *locust,
                        "--worker",
                        "--master-host",
                        "127.0.0.1",
                        "--master-port",
                        str(port),
                        "--loglevel",
                        "WARNING",
                    ],
                    env=child_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
                for _ in range(run.workers)
            ]
            started = time.monotonic()
            limit = run.duration_s + 60 + 10 * run.workers
            code: int | None = None
            progress_file = Path(prefix + "_progress.json")
            try:
                if on_progress is not None:
                    on_progress(_live(progress_file, run))
                while True:
                    try:
                        code = master.wait(every_s)
                        break
                    except subprocess.TimeoutExpired:
                        if time.monotonic() - started > limit:
                            break
                        if on_progress is not None:
                            on_progress(_live(progress_file, run))
            finally:
                _stop(master)
                deadline = time.monotonic() + 10
                for w in workers:
                    try:
                        w.wait(max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        _stop(w)
        stats_file = Path(prefix + ".json")
        if code not in (0, None) or not stats_file.is_file():
            raise ParityError(f"Locust failed against {host} (exit {code}); see {log_file}")
        stats = parse_stats_json(stats_file)
        stats["failures_by_kind"] = failures_by_kind(Path(prefix + "_failures.json"))
        return stats
