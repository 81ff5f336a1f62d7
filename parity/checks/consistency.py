"""Cross-backend consistency: how long until a write through one backend is visible
through another (shared database, shared cache, a search index that lags).

:func:`watch` polls several probes together until each sees what it waits for or the bound
passes, so checking four (writer, reader) pairs costs one bound at most, never four, and a
lagging reader is reported with the bound instead of being waited for.

The requests are the catalog's (``checks.consistency``, :class:`parity.core.checkspec.Consistency`):
:func:`send` sends one of them through the runner, :func:`item_fields` and :func:`listed`
read what the catalog says an answer holds. Nothing here knows the API.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from parity.checks.flows import call_endpoint
from parity.core.catalog import Catalog
from parity.core.checkspec import EndpointCall
from parity.core.jsonpath import extract
from parity.engine.client import BackendClient
from parity.engine.runner import Exchange

__all__ = [
    "ABSENT",
    "Probe",
    "Visibility",
    "fields_of",
    "item_fields",
    "listed",
    "send",
    "watch",
]

#: How evidence shows a field the answer does not have.
ABSENT = "(absent)"


def send(
    client: BackendClient,
    catalog: Catalog,
    call: EndpointCall,
    variables: Mapping[str, Any],
    run_id: str,
    *,
    name: str,
) -> Exchange:
    """One of the section's requests through ``client``; a route parameter it does not
    give takes the variable of its name (what the resource saved)."""
    endpoint = catalog.get(call.endpoint)
    params = {p: call.params.get(p, "{" + p + "}") for p in endpoint.route_params}
    return call_endpoint(
        client,
        catalog,
        endpoint,
        run_id,
        name=name,
        role=call.role or endpoint.role,
        params=params,
        parts=call.parts(),
        variables=variables,
    )


def fields_of(item: Any, paths: Iterable[str]) -> dict[str, Any]:
    """The values at ``paths`` in ``item`` (:data:`ABSENT` where it has none)."""
    return {p: extract(item, p, default=ABSENT) for p in paths}


def item_fields(exchange: Exchange, item: str | None, paths: Iterable[str]) -> dict[str, Any]:
    """:func:`fields_of` the item at ``item`` in the answer (None: the answer itself)."""
    doc = exchange.json if exchange.is_json else None
    return fields_of(doc if item is None else extract(doc, item, default=None), paths)


def listed(exchange: Exchange, items: str | None, id_path: str) -> dict[str, Any]:
    """The items of a list answer by id (as a string: ``1`` and ``"1"`` are one id)."""
    doc = exchange.json if exchange.is_json else None
    found = doc if items is None else extract(doc, items, default=None)
    if not isinstance(found, list):
        return {}
    out: dict[str, Any] = {}
    for entry in found:
        key = extract(entry, id_path, default=None)
        if key is not None:
            out[str(key)] = entry
    return out


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
