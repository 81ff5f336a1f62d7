"""Capture: replay every catalog scenario against one backend and record the answers.

Each scenario (all roles, success and error statuses) runs through
:func:`parity.engine.runner.run_scenario`, so setup and teardown work exactly as in the checks;
its exchange is written to a cassette (:mod:`parity.engine.cassette`, redacted there, then in its
stable form, :mod:`parity.engine.stable`) as soon as it is known. A scenario whose setup fails is
reported and skipped, not fatal: one broken endpoint should not cost the whole recording.
An unreachable backend is fatal.

Records are written in catalog order whatever the concurrency, so capturing an unchanged
backend twice writes the same file. Concurrency is optional. Scenarios that change state
(their request, setup or teardown writes) run alone, because two of them touching the
same user's data (a wishlist reorder next to a wishlist create) would record a race, not
the API; with ``concurrency > 1`` consecutive read-only scenarios run that many at a time,
and a writing one waits for the reads before it: every read sees the state it sees in a
serial run.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from parity.core.catalog import Case, Catalog
from parity.core.errors import BackendUnreachable, ParityError
from parity.engine.cassette import CassetteWriter, Recorded
from parity.engine.client import BackendClient
from parity.engine.runner import Exchange, run_scenario
from parity.engine.stable import Stabiliser

__all__ = ["CaptureReport", "capture_catalog", "record_from_exchange"]

#: Called after each scenario with the case and its exchange (None when it failed).
Progress = Callable[[Case, Exchange | None], None]


@dataclass
class CaptureReport:
    path: Path
    written: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # "GET /x -> 200": count
    failures: list[str] = field(default_factory=list)  # scenarios that could not run
    unexpected: list[str] = field(default_factory=list)  # answered a status not expected

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unexpected


def _request_body(summary: str | None) -> Any:
    # The runner keeps a text summary of the body; JSON bodies are stored parsed, so the
    # redaction can see their keys (a "password" field) and readers need not re-parse.
    if summary is None:
        return None
    try:
        return {"json": json.loads(summary)}
    except ValueError:
        return {"text": summary}


def record_from_exchange(exchange: Exchange, source: str = "catalog") -> Recorded:
    """The cassette record of an exchange (redaction happens when it is written)."""
    return Recorded(
        backend=exchange.backend,
        method=exchange.method,
        route=exchange.route,
        status=exchange.status,
        url=exchange.url,
        endpoint=exchange.endpoint,
        scenario=exchange.scenario,
        role=exchange.role,
        source=source,
        expected=list(exchange.expected),
        request={
            "headers": dict(exchange.request_headers),
            "body": _request_body(exchange.request_body),
        },
        response={"headers": dict(exchange.headers), "json": exchange.json, "text": exchange.text},
        elapsed_ms=exchange.elapsed_ms,
    )


def _run(client: BackendClient, catalog: Catalog, case: Case, run_id: str) -> Exchange:
    return run_scenario(client, catalog, case.endpoint, case.scenario, run_id)


def _ordered(
    client: BackendClient,
    catalog: Catalog,
    cases: list[Case],
    run_id: str,
    concurrency: int,
) -> Iterator[tuple[Case, Exchange | ParityError]]:
    """Results in the order of ``cases``; at most ``concurrency * 4`` held at a time."""
    if concurrency <= 1:
        for case in cases:
            yield case, _attempt(client, catalog, case, run_id)
        return
    window: deque[tuple[Case, Future[Exchange | ParityError]]] = deque()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="capture") as pool:
        for case in cases:
            if catalog.writes(case.endpoint, case.scenario):
                while window:  # the reads before it are done before it starts
                    done, future = window.popleft()
                    yield done, future.result()
                yield case, _attempt(client, catalog, case, run_id)
                continue
            window.append((case, pool.submit(_attempt, client, catalog, case, run_id)))
            if len(window) >= concurrency * 4:
                done, future = window.popleft()
                yield done, future.result()
        while window:
            done, future = window.popleft()
            yield done, future.result()


def _attempt(
    client: BackendClient, catalog: Catalog, case: Case, run_id: str
) -> Exchange | ParityError:
    try:
        return _run(client, catalog, case, run_id)
    except BackendUnreachable:
        raise  # nothing else will work either
    except ParityError as exc:  # setup failed, a timeout: this scenario only
        return exc


def capture_catalog(
    client: BackendClient,
    catalog: Catalog,
    out: Path,
    *,
    run_id: str,
    cases: Iterable[Case] | None = None,
    concurrency: int = 1,
    secrets: Iterable[str] = (),
    progress: Progress | None = None,
    stable: bool = True,
) -> CaptureReport:
    """Replay ``cases`` (default: the whole catalog) against ``client`` into ``out``.

    ``secrets`` are exact strings redacted wherever they appear (e.g. the test users'
    passwords). ``stable=False`` writes the exchanges as they were (timings, ids, ports,
    the run id) instead of their stable form. Raises
    :class:`~parity.core.errors.BackendUnreachable` when the backend is gone.
    """
    selected = list(cases if cases is not None else catalog.cases())
    report = CaptureReport(path=Path(out))
    # times more than a day before this capture are the data's own history: kept
    since = datetime.now(UTC) - timedelta(days=1)
    stabiliser = Stabiliser.for_catalog(catalog, run_id, since) if stable else None
    with CassetteWriter(Path(out), secrets=secrets, stabiliser=stabiliser) as writer:
        for case, result in _ordered(client, catalog, selected, run_id, concurrency):
            if isinstance(result, ParityError):
                report.failures.append(f"{case.id}: {result}")
                if progress is not None:
                    progress(case, None)
                continue
            writer.write(record_from_exchange(result))
            report.written += 1
            report.statuses[f"{result.method} {result.route} -> {result.status}"] += 1
            if not result.ok:
                expected = ", ".join(map(str, result.expected))
                report.unexpected.append(
                    f"{case.id}: answered {result.status} (the catalog expects {expected})"
                )
            if progress is not None:
                progress(case, result)
    return report
