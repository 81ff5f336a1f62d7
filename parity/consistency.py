"""Cross-backend consistency: how long until a write through one backend is visible
through another (shared database, shared cache, a search index that lags).

:func:`watch` polls several probes together until each sees what it waits for or the bound
passes, so checking four (writer, reader) pairs costs one bound at most, never four, and a
lagging reader is reported with the bound instead of being waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Probe", "Visibility", "watch"]

#: A probe returns (seen, what it observed) on each call.
Probe = Callable[[], tuple[bool, str]]


@dataclass
class Visibility:
    name: str
    seen: bool
    lag_s: float | None  # seconds from the start of watching until first seen
    bound_s: float
    attempts: int = 0
    observed: list[str] = field(default_factory=list)  # distinct observations, in order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        if self.seen:
            return f"visible after {self.lag_s:.2f} s ({self.attempts} reads)"
        return f"not visible within {self.bound_s:g} s ({self.attempts} reads)"


def watch(
    probes: Mapping[str, Probe],
    bound_s: float,
    *,
    interval_s: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Visibility]:
    """Call every probe until it sees its item, for at most ``bound_s`` seconds overall."""
    start = clock()
    results = {name: Visibility(name, False, None, bound_s) for name in probes}
    pending = list(probes)
    while pending:
        for name in list(pending):
            seen, observed = probes[name]()
            result = results[name]
            result.attempts += 1
            if not result.observed or result.observed[-1] != observed:
                result.observed.append(observed)
            if seen:
                result.seen, result.lag_s = True, round(clock() - start, 3)
                pending.remove(name)
        if not pending or clock() - start >= bound_s:
            break
        sleep(interval_s)
    return results
