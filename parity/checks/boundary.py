"""Upload boundaries judged: the bisection that finds a backend's real direct-upload
ceiling, the client-side threshold safe on every backend, the findings about one upload,
and the memory an upload costs the suite. The uploads themselves:
:mod:`parity.checks.uploads`.
"""

from __future__ import annotations

import json
import os
import threading
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from parity.checks.uploads import UploadOutcome
from parity.core.results import Origin
from parity.engine.diff import Difference

__all__ = [
    "CeilingResult",
    "MemoryPeak",
    "Probe",
    "bisect_ceiling",
    "human_size",
    "judge_upload",
    "safe_threshold",
    "size_label",
]


def human_size(n: int | None) -> str:
    """``9437184`` -> ``"9 MiB (9,437,184 B)"``; ``4653056`` -> ``"4.44 MiB (4,653,056 B)"``."""
    if n is None:
        return "unknown"
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            value = n / scale
            shown = f"{value:.0f}" if value == int(value) else f"{value:.2f}"
            return f"{shown} {unit} ({n:,} B)"
    return f"{n:,} B"


# --- the ceiling ---------------------------------------------------------------------------


@dataclass
class Probe:
    """One request of a ceiling search."""

    size: int
    accepted: bool
    status: int
    gateway: bool


@dataclass
class CeilingResult:
    """``accepted`` is the largest size seen accepted (0: none tried), ``rejected`` the
    smallest seen rejected (``None``: even ``high`` was accepted, the ceiling is above it)."""

    accepted: int
    rejected: int | None
    precision: int
    probes: list[Probe] = field(default_factory=list)

    @property
    def above_range(self) -> bool:
        return self.rejected is None

    def describe(self) -> str:
        if self.rejected is None:
            return f"at least {human_size(self.accepted)} (the largest size tried)"
        return (
            f"{human_size(self.accepted)} (largest accepted; {human_size(self.rejected)} rejected)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "precision": self.precision,
            "probes": [asdict(p) for p in self.probes],
        }


def bisect_ceiling(probe: Callable[[int], Probe], high: int, precision: int) -> CeilingResult:
    """Find the largest accepted size, to within ``precision`` bytes, with sizes on the
    ``precision`` grid (so the same limits always give the same answer).

    ``probe(size)`` uploads a file and says whether it was accepted. ``high`` is tried
    first: accepted means the ceiling is at least ``high`` and nothing else is tried.
    About ``log2(high / precision) + 1`` probes.
    """
    if precision <= 0 or high < precision:
        raise ValueError("need 0 < precision <= high")
    high -= high % precision
    result = CeilingResult(accepted=0, rejected=None, precision=precision)
    first = probe(high)
    result.probes.append(first)
    if first.accepted:
        result.accepted = high
        return result
    lo, hi = 0, high  # lo accepted (0: assumed), hi rejected
    while hi - lo > precision:
        mid = lo + ((hi - lo) // precision // 2) * precision
        outcome = probe(mid)
        result.probes.append(outcome)
        if outcome.accepted:
            lo = mid
        else:
            hi = mid
    result.accepted, result.rejected = lo, hi
    return result


def safe_threshold(accepted: Iterable[int], margin: int, precision: int) -> int:
    """The largest size on the ``precision`` grid at least ``margin`` below every
    backend's largest accepted size: a client-side direct-upload cutoff safe on all of
    them (headers and the multipart envelope of a real browser differ a little)."""
    lowest = min(accepted)
    value = max(0, lowest - margin)
    return value - value % precision


# --- judging ---------------------------------------------------------------------------


def size_label(n: int) -> str:
    """``9437184`` -> ``"9MiB"`` (scenario names and finding paths)."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n % scale == 0:
            return f"{n // scale}{unit}"
    return f"{n}B"


def judge_upload(
    outcome: UploadOutcome, *, must_accept: bool, reference: UploadOutcome | None = None
) -> list[Difference]:
    """Findings about one upload: refused where the reference (Express) or the plan takes
    it, accepted where the reference refuses it, or stored differently from what was sent.

    The finding's path is ``<path>.<size>`` (``direct.9MiB``), so a baseline entry can
    accept exactly the findings it means; its origin is ``gateway`` when the refusal came in
    API Gateway's shape.
    """
    name = f"{outcome.path}.{size_label(outcome.size)}"
    what = f"{outcome.backend} {outcome.path} upload of {human_size(outcome.size)}"
    origin: Origin = "gateway" if outcome.gateway else "application"
    answer = f"{outcome.status} {_short(outcome.body)}".strip()
    refused = f"{what} refused at {outcome.step}: {answer} ({origin})"

    def status(expected: Any, source: Origin, note: str) -> Difference:
        return Difference(name, "status", expected, outcome.status, "breaking", source, note=note)

    if outcome.accepted:
        found = [
            Difference(
                f"{name}.sha256",
                "value",
                outcome.sent_sha256,
                outcome.downloaded_sha256,
                "breaking",
                "application",
                note=f"{what}: {problem}",
            )
            for problem in outcome.problems
        ]
        if reference is not None and not reference.accepted:
            found.append(
                status(
                    reference.status,
                    "application",
                    f"{what} accepted ({outcome.status}) what {reference.backend} "
                    f"refuses ({reference.status})",
                )
            )
        return found
    if reference is not None and reference.accepted:
        note = f"{refused}; {reference.backend} accepts it ({reference.status})"
        return [status(reference.status, origin, note)]
    if must_accept:
        return [status("2xx", origin, f"{refused}; the plan sends files of this size this way")]
    if not outcome.rejected:
        note = f"{what} answered {answer}: neither stored nor refused as too large"
        return [status("2xx or 413", origin, note)]
    return []


def _short(body: Any, limit: int = 80) -> str:
    if body is None:
        return ""
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class MemoryPeak:
    """Peak memory while the block runs: Python allocations (tracemalloc) and the
    process's resident set (sampled every 5 ms from /proc, Linux; 0 elsewhere)."""

    def __init__(self) -> None:
        self.traced_peak = 0
        self.rss_peak_delta = 0
        self._stop = threading.Event()
        self._rss_start = 0
        self._rss_max = 0
        self._thread: threading.Thread | None = None
        self._started_tracing = False

    @staticmethod
    def _rss() -> int:
        try:
            with open("/proc/self/statm", "rb") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self._rss_max = max(self._rss_max, self._rss())

    def __enter__(self) -> MemoryPeak:
        self._started_tracing = not tracemalloc.is_tracing()
        if self._started_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._rss_start = self._rss_max = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._rss_max = max(self._rss_max, self._rss())
        _, self.traced_peak = tracemalloc.get_traced_memory()
        if self._started_tracing:
            tracemalloc.stop()
        self.rss_peak_delta = max(0, self._rss_max - self._rss_start)
