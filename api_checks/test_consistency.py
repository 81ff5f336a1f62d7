"""Cross-backend consistency (``pytest -m parity``): both backends share one database and
one cache, so what one writes the other must read at once.

- read-after-write: a MOC created, changed and deleted through one backend is read through
  the other right after each step (cell ``GET /api/mocs/{mocId}`` x ``consistency``);
- search lag: search on both backends finds a MOC created through either within
  :data:`SEARCH_BOUND_S` (the OpenSearch index lag risk); the measured lag goes into the
  matrix (cell ``GET /api/mocs/search`` x ``search-lag``);
- stale cache: a list read cached by one backend never hides a write made through the other
  (the ``v2:`` cache-namespace risk; cell ``GET /api/mocs`` x ``cache``).

Everything created is deleted again, also when a check fails.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from parity.client import BackendClient
from parity.consistency import watch
from parity.errors import ParityError
from parity.plugin import ParityRun, ResultSink
from parity.results import CheckResult, State

pytestmark = pytest.mark.parity

SEARCH_BOUND_S = 5.0
DIRECTIONS = [("express", "serverless"), ("serverless", "express")]
IDS = [f"{w}-to-{r}" for w, r in DIRECTIONS]

GET = "GET /api/mocs/{mocId}"
SEARCH = "GET /api/mocs/search"
LIST = "GET /api/mocs"


class Steps:
    """The steps of one check and its verdict: the first mismatch is the finding."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.problem: str | None = None

    def expect(self, what: str, ok: bool, observed: Any) -> bool:
        self.log.append({"step": what, "ok": ok, "observed": observed})
        if not ok and self.problem is None:
            self.problem = f"{what}: observed {observed}"
        return ok


def _clients(parity_run: ParityRun, results: ResultSink, endpoint: str, check: str) -> None:
    if set(parity_run.selected) != {"express", "serverless"}:
        why = "needs both backends (--backend=both)"
        results.add(CheckResult(endpoint, check, "not-testable", why))
        pytest.skip(why)
    if not parity_run.settings.writes_allowed:
        why = "writes refused against a production target (pass --allow-writes)"
        results.add(CheckResult(endpoint, check, "skipped", why))
        pytest.skip(why)


def _data(resp: Any) -> Any:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body.get("data") if isinstance(body, dict) else None


@contextmanager
def _moc(client: BackendClient, title: str) -> Iterator[dict[str, Any]]:
    """A MOC of alice's created through ``client``, deleted through it afterwards."""
    body = {
        "title": title,
        "description": "created by the consistency checks",
        "theme": "Castle",
        "pieceCount": 321,
        "tags": ["parity", "consistency"],
    }
    resp = client.request("POST", "/api/mocs", "alice", json=body)
    created = _data(resp)
    if resp.status_code not in (200, 201) or not isinstance(created, dict):
        raise ParityError(
            f"creating a MOC through {client.name} answered {resp.status_code}: {resp.text[:200]}"
        )
    try:
        yield created
    finally:
        client.request("DELETE", f"/api/mocs/{created['id']}", "alice")


def _report(
    results: ResultSink,
    endpoint: str,
    check: str,
    scenario: str,
    steps: Steps,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    state: State = "pass" if steps.problem is None else "drift"
    summary = steps.problem or f"{len(steps.log)} steps consistent"
    return results.add(
        CheckResult(
            endpoint=endpoint,
            check=check,
            state=state,
            summary=summary,
            scenario=scenario,
            origin=None if state == "pass" else "application",
            severity=None if state == "pass" else "breaking",
            evidence={"steps": steps.log, **(extra or {})},
        )
    )


def _error(results: ResultSink, endpoint: str, check: str, scenario: str, exc: Exception) -> None:
    reason = " ".join(str(exc).split())
    results.add(CheckResult(endpoint, check, "error", reason, scenario=scenario))


@pytest.mark.parametrize(("writer", "reader"), DIRECTIONS, ids=IDS)
@pytest.mark.parity_check("consistency", endpoint=GET)
def test_read_after_write(
    parity_run: ParityRun, parity_results: ResultSink, writer: str, reader: str
) -> None:
    _clients(parity_run, parity_results, GET, "consistency")
    w, r = parity_run.client(writer), parity_run.client(reader)
    scenario, steps = f"{writer}-to-{reader}", Steps()
    title = f"parity {parity_run.run_id} consistency {secrets.token_hex(4)}"
    try:
        with _moc(w, title) as moc:
            path = f"/api/mocs/{moc['id']}"
            got = r.request("GET", path)
            seen = _data(got) or {}
            steps.expect(
                f"created through {writer}, read through {reader}",
                got.status_code == 200 and seen.get("title") == title,
                {"status": got.status_code, "title": seen.get("title")},
            )
            changed = title + " (changed)"
            w.request("PATCH", path, "alice", json={"title": changed, "description": "changed"})
            got = r.request("GET", path)
            seen = _data(got) or {}
            steps.expect(
                f"changed through {writer}, read through {reader}",
                seen.get("title") == changed and seen.get("description") == "changed",
                {
                    "status": got.status_code,
                    "title": seen.get("title"),
                    "description": seen.get("description"),
                },
            )
            w.request("DELETE", path, "alice")
            got = r.request("GET", path)
            steps.expect(
                f"deleted through {writer}, read through {reader}",
                got.status_code == 404,
                {"status": got.status_code},
            )
    except ParityError as exc:
        _error(parity_results, GET, "consistency", scenario, exc)
        raise
    record = _report(parity_results, GET, "consistency", scenario, steps)
    assert record.state == "pass", record.summary


@pytest.mark.parity_check("search-lag", endpoint=SEARCH)
def test_search_finds_new_items_within_bound(
    parity_run: ParityRun, parity_results: ResultSink
) -> None:
    _clients(parity_run, parity_results, SEARCH, "search-lag")
    token = f"lag{secrets.token_hex(5)}"
    clients = {name: parity_run.client(name) for name in ("express", "serverless")}
    try:
        with (
            _moc(clients["express"], f"parity {token} via express") as via_express,
            _moc(clients["serverless"], f"parity {token} via serverless") as via_serverless,
        ):
            created = {"express": via_express["id"], "serverless": via_serverless["id"]}

            def probe(reader: str, wanted: str) -> Callable[[], tuple[bool, str]]:
                def look() -> tuple[bool, str]:
                    resp = clients[reader].request("GET", "/api/mocs/search", params={"q": token})
                    ids = [i.get("id") for i in (_data(resp) or {}).get("items", [])]
                    return wanted in ids, f"{resp.status_code}: {len(ids)} found"

                return look

            probes = {f"{w}-to-{r}": probe(r, created[w]) for w in clients for r in clients}
            seen = watch(probes, SEARCH_BOUND_S)
    except ParityError as exc:
        _error(parity_results, SEARCH, "search-lag", "all", exc)
        raise
    late = []
    for name, vis in sorted(seen.items()):
        state: State = "pass" if vis.seen else "drift"
        parity_results.add(
            CheckResult(
                endpoint=SEARCH,
                check="search-lag",
                state=state,
                summary=f"{name.replace('-to-', ' -> ')}: {vis.describe()}",
                scenario=name,
                origin=None if vis.seen else "application",
                severity=None if vis.seen else "breaking",
                evidence={
                    "visibility": vis.to_dict(),
                    "measurements": [
                        {
                            "name": "search lag",
                            "value": vis.lag_s,
                            "unit": "s",
                            "bound": SEARCH_BOUND_S,
                        }
                    ],
                },
            )
        )
        if not vis.seen:
            late.append(f"{name}: {vis.describe()}")
    assert not late, "search does not find new MOCs in time: " + "; ".join(late)


@pytest.mark.parametrize(("writer", "reader"), DIRECTIONS, ids=IDS)
@pytest.mark.parity_check("cache", endpoint=LIST)
def test_cached_list_never_hides_a_write(
    parity_run: ParityRun, parity_results: ResultSink, writer: str, reader: str
) -> None:
    _clients(parity_run, parity_results, LIST, "cache")
    w, r = parity_run.client(writer), parity_run.client(reader)
    scenario, steps = f"{writer}-to-{reader}", Steps()
    token = f"cache{secrets.token_hex(5)}"
    query = {"q": token, "limit": 10}

    def listed() -> dict[str, Any]:
        resp = r.request("GET", "/api/mocs", params=query)
        items = (_data(resp) or {}).get("items", [])
        return {i.get("id"): i for i in items if isinstance(i, dict)}

    try:
        before = listed()  # the reader caches the (empty) list now
        steps.expect(f"list through {reader} before the write", not before, sorted(before))
        with _moc(w, f"parity {token} cached list") as moc:
            after = listed()
            steps.expect(
                f"created through {writer}, listed through {reader}",
                moc["id"] in after,
                {"ids": sorted(after)},
            )
            changed = f"parity {token} cached list (changed)"  # still matches the query
            w.request("PATCH", f"/api/mocs/{moc['id']}", "alice", json={"title": changed})
            after = listed()
            seen = after.get(moc["id"], {}).get("title")
            steps.expect(
                f"changed through {writer}, listed through {reader}",
                seen == changed,
                {"title": seen},
            )
        after = listed()
        steps.expect(
            f"deleted through {writer}, listed through {reader}",
            moc["id"] not in after,
            {"ids": sorted(after)},
        )
    except ParityError as exc:
        _error(parity_results, LIST, "cache", scenario, exc)
        raise
    record = _report(parity_results, LIST, "cache", scenario, steps, {"query": query})
    assert record.state == "pass", record.summary
