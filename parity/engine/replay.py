"""Cassettes as the reference: when Express is gone (``--backend=serverless``), its recorded
answers (``fixtures/cassettes/*.jsonl``, written by ``parity capture``) stand in for it.

A recording comes from another run: ids of resources created then, user ids, run ids in
titles, hosts in URLs all differ from today's by nature. So against a cassette the envelope
check compares the *shape* (keys, types, ``message`` text) and not the other values; status
and headers are compared as usual. Two recordings of the same scenario teach noise as two
live Express answers do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from parity.core.catalog import Case, Scenario
from parity.engine.cassette import Recorded, cassette_files, read_cassette
from parity.engine.runner import Exchange

__all__ = ["CassetteSource", "MissingRecording", "load_cassettes"]

_KEEP = 2  # recordings kept per scenario: the answer, and one more to learn noise from


class MissingRecording(LookupError):
    """No recording of a scenario: the differential check cannot judge it."""


@dataclass
class CassetteSource:
    """Recorded answers of one backend, by (endpoint id, scenario name)."""

    name: str
    files: list[Path]
    recordings: dict[tuple[str, str], list[Recorded]] = field(default_factory=dict)
    live: bool = False

    def _get(self, case: Case, index: int) -> Recorded | None:
        found = self.recordings.get((case.endpoint.id, case.scenario.name), [])
        return found[index] if len(found) > index else None

    def exchange(self, case: Case, scenario: Scenario) -> Exchange:
        recorded = self._get(case, 0)
        if recorded is None:
            where = ", ".join(str(f) for f in self.files) or "no cassette files"
            raise MissingRecording(
                f"no recording of {case.id} in {where}: record it with `parity capture`"
            )
        return _exchange(recorded, case)

    def again(self, case: Case, scenario: Scenario) -> Exchange | None:
        recorded = self._get(case, 1)
        return _exchange(recorded, case) if recorded is not None else None

    def describe(self) -> str:
        return f"{self.name} cassettes ({', '.join(str(f) for f in self.files)})"


def _exchange(recorded: Recorded, case: Case) -> Exchange:
    response = recorded.response or {}
    request = recorded.request or {}
    return Exchange(
        backend=recorded.backend,
        endpoint=case.endpoint.id,
        scenario=case.scenario.name,
        role=recorded.role or case.scenario.role,
        method=recorded.method,
        route=recorded.route,
        url=recorded.url,
        request_headers=dict(request.get("headers") or {}),
        request_body=request.get("body"),
        status=recorded.status,
        headers={str(k).lower(): str(v) for k, v in (response.get("headers") or {}).items()},
        json=response.get("json"),
        text=response.get("text"),
        elapsed_ms=recorded.elapsed_ms,
        expected=tuple(recorded.expected),
    )


def load_cassettes(directory: Path, backend: str = "express") -> CassetteSource:
    """Index the catalog recordings of ``backend`` under ``directory``, streaming the files
    and keeping at most two recordings per scenario."""
    files = cassette_files(directory) if Path(directory).is_dir() else []
    source = CassetteSource(backend, files)
    for recorded in _records(files):
        if recorded.backend != backend or not recorded.endpoint or not recorded.scenario:
            continue
        kept = source.recordings.setdefault((recorded.endpoint, recorded.scenario), [])
        if len(kept) < _KEEP:
            kept.append(recorded)
    return source


def _records(files: Iterable[Path]) -> Iterable[Recorded]:
    for path in files:
        yield from read_cassette(path)
