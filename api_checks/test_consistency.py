"""Cross-backend consistency (``pytest -m parity``): both backends share one store (database,
cache, search index), so what one writes the other must read at once. What to create, read,
change, search and list is the catalog's ``checks.consistency`` (docs/catalog.md); the
resource is created and deleted by its catalog ``create`` and ``delete``, so it carries the
run id and is deleted again, also when a check fails.

- read-after-write: the resource created through one backend is read through the other
  (the declared fields alike on both), changed through the first and read changed, deleted
  through the first and read gone (cell ``<read endpoint>`` x ``consistency``);
- search lag: search on both backends finds a resource created through either within the
  declared bound (an index that lags); the measured lag goes into the matrix (cell
  ``<search endpoint>`` x ``search-lag``);
- stale cache: a list read cached by one backend never hides a write made through the other
  (a cache namespace per backend; cell ``<list endpoint>`` x ``cache``).

A step the catalog does not declare is ``not-applicable`` with the reason (no ``search:``:
the search-lag cell says so), never a pass; without the section the whole family is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from parity.checks.consistency import ABSENT, fields_of, item_fields, listed, send, watch
from parity.checks.verdicts import short
from parity.core.catalog import Catalog
from parity.core.checkspec import Consistency, ConsistencyList, EndpointCall
from parity.core.errors import ParityError, SetupError
from parity.core.results import CheckResult, State
from parity.core.templating import render
from parity.engine.client import BackendClient
from parity.engine.runner import Exchange, provisioned
from parity.plugin import ParityRun, ResultSink, collection_catalog

FAMILY = "consistency"
pytestmark = [pytest.mark.parity, pytest.mark.parity_family(FAMILY)]

DIRECTIONS = [("express", "serverless"), ("serverless", "express")]
#: The row of a step the catalog does not declare (spelt like the plugin's family cells).
UNDECLARED = f"FAMILY /{FAMILY}"
#: test -> (matrix check, the section's request whose endpoint is the row)
CELLS: dict[str, tuple[str, str]] = {
    "test_read_after_write": ("consistency", "read"),
    "test_search_finds_new_items_within_bound": ("search-lag", "search"),
    "test_cached_list_never_hides_a_write": ("cache", "list"),
}


def _spec_of(catalog: Catalog) -> Consistency | None:
    return catalog.checks.consistency


def _row(catalog: Catalog, call: EndpointCall | None) -> str:
    return catalog.get(call.endpoint).key if call is not None else UNDECLARED


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The cells' rows come from the catalog, known at collection so that a skip or a
    # set-up error still lands in the right cell.
    cell = CELLS.get(metafunc.function.__name__)
    if cell is None:
        return
    check, key = cell
    catalog = collection_catalog(metafunc.config)
    spec = _spec_of(catalog)
    call = None if spec is None else dict(spec.calls()).get(key)
    row = _row(catalog, call)
    if "writer" in metafunc.fixturenames:
        params = [
            pytest.param(
                w,
                r,
                id=f"{w}-to-{r}",
                marks=pytest.mark.parity_check(check, endpoint=row, scenario=f"{w}-to-{r}"),
            )
            for w, r in DIRECTIONS
        ]
        metafunc.parametrize(("writer", "reader"), params)
    else:
        marks = pytest.mark.parity_check(check, endpoint=row)
        label = call.endpoint if call is not None else "not-declared"
        metafunc.parametrize("row", [pytest.param(row, id=label, marks=marks)])


class Steps:
    """The steps of one check and its verdict: the first mismatch is the finding."""

    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.problem: str | None = None
        self.undeclared: list[str] = []

    def expect(self, what: str, ok: bool, observed: Any) -> bool:
        self.log.append({"step": what, "ok": ok, "observed": observed})
        if not ok and self.problem is None:
            self.problem = f"{what}: observed {observed}"
        return ok

    def not_declared(self, what: str, why: str) -> None:
        self.log.append({"step": what, "ok": None, "observed": f"not-applicable: {why}"})
        self.undeclared.append(what)


def _spec(parity_run: ParityRun) -> Consistency:
    spec = _spec_of(parity_run.catalog)
    assert spec is not None, "the consistency family runs only with checks.consistency"
    return spec


def _clients(parity_run: ParityRun, results: ResultSink, endpoint: str, check: str) -> None:
    if set(parity_run.selected) != {"express", "serverless"}:
        why = "needs both backends (--backend=both)"
        results.add(CheckResult(endpoint, check, "not-testable", why))
        pytest.skip(why)
    if not parity_run.settings.writes_allowed:
        why = "writes refused against a production target (pass --allow-writes)"
        results.add(CheckResult(endpoint, check, "skipped", why))
        pytest.skip(why)


def _not_declared(results: ResultSink, check: str, key: str, what: str) -> None:
    why = (
        f"{FAMILY}: the catalog declares no checks.consistency.{key} ({what}); see docs/catalog.md"
    )
    results.add(CheckResult(UNDECLARED, check, "not-applicable", why))
    pytest.skip(f"not-applicable: {why}")


def _must(client: BackendClient, exchange: Exchange, what: str) -> None:
    """The check's own write must work, or nothing can be judged."""
    if not 200 <= exchange.status < 300:
        body = exchange.json if exchange.is_json else exchange.text
        raise SetupError(
            f"{what} through {client.name}: {exchange.method} {exchange.url} answered "
            f"{exchange.status}: {short(body, 200)}",
            backend=client.name,
            url=client.base_url,
            hint="Check that the request works on its own, or fix checks.consistency",
        )


def _report(
    results: ResultSink,
    endpoint: str,
    check: str,
    scenario: str,
    steps: Steps,
    extra: dict[str, Any] | None = None,
) -> CheckResult:
    state: State = "pass" if steps.problem is None else "drift"
    judged = sum(1 for s in steps.log if s["ok"] is not None)
    summary = steps.problem or f"{judged} steps consistent"
    if steps.undeclared and steps.problem is None:
        summary += f" ({', '.join(steps.undeclared)}: not declared, not checked)"
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


def _expected(spec: Consistency, variables: dict[str, Any]) -> dict[str, Any]:
    assert spec.change is not None
    return dict(render(spec.change.expect, variables))


def test_read_after_write(
    parity_run: ParityRun, parity_results: ResultSink, writer: str, reader: str
) -> None:
    spec, catalog, run_id = _spec(parity_run), parity_run.catalog, parity_run.run_id
    key = _row(catalog, spec.read)
    _clients(parity_run, parity_results, key, "consistency")
    w, r = parity_run.client(writer), parity_run.client(reader)
    scenario, steps = f"{writer}-to-{reader}", Steps()
    read = spec.read

    def fields(client: BackendClient, variables: dict[str, Any], paths: list[str]) -> Any:
        got = send(client, catalog, read, variables, run_id, name="consistency-read")
        return got, item_fields(got, read.item, paths)

    try:
        with provisioned(w, catalog, [spec.resource], run_id, label=f"consistency {scenario}") as v:
            variables = dict(v)
            _, mine = fields(w, variables, read.compare)
            got, theirs = fields(r, variables, read.compare)
            steps.expect(
                f"created through {writer}, read through {reader}",
                200 <= got.status < 300 and theirs == mine,
                {"status": got.status, reader: theirs, writer: mine},
            )
            if spec.change is not None:
                changed = send(
                    w, catalog, spec.change, variables, run_id, name="consistency-change"
                )
                _must(w, changed, "the change")
                want = _expected(spec, variables)
                got, theirs = fields(r, variables, list(want))
                steps.expect(
                    f"changed through {writer}, read through {reader}",
                    200 <= got.status < 300 and theirs == want,
                    {"status": got.status, "read": theirs, "expected": want},
                )
            else:
                steps.not_declared("change", "no checks.consistency.change")
        # the resource's delete ran through the writer (the teardown of what it created)
        got = send(r, catalog, read, variables, run_id, name="consistency-read")
        steps.expect(
            f"deleted through {writer}, read through {reader}",
            got.status in read.gone,
            {"status": got.status, "expected": read.gone},
        )
    except ParityError as exc:
        _error(parity_results, key, "consistency", scenario, exc)
        raise
    record = _report(parity_results, key, "consistency", scenario, steps)
    assert record.state == "pass", record.summary


def test_search_finds_new_items_within_bound(
    parity_run: ParityRun, parity_results: ResultSink, row: str
) -> None:
    spec, catalog, run_id = _spec(parity_run), parity_run.catalog, parity_run.run_id
    search = spec.search
    if search is None:
        _not_declared(parity_results, "search-lag", "search", "the search that must find it")
    assert search is not None
    key = row
    _clients(parity_run, parity_results, key, "search-lag")
    clients = {name: parity_run.client(name) for name in ("express", "serverless")}
    template = spec.id_template(catalog)
    try:
        with (
            provisioned(
                clients["express"], catalog, [spec.resource], run_id, label="search-lag"
            ) as via_express,
            provisioned(
                clients["serverless"], catalog, [spec.resource], run_id, label="search-lag"
            ) as via_serverless,
        ):
            made = {"express": dict(via_express), "serverless": dict(via_serverless)}
            created = {name: str(render(template, v)) for name, v in made.items()}

            def probe(reader: str, writer: str) -> Callable[[], tuple[bool, str]]:
                def look() -> tuple[bool, str]:
                    got = send(
                        clients[reader], catalog, search, made[writer], run_id, name="search"
                    )
                    ids = listed(got, search.items, search.id)
                    return created[writer] in ids, f"{got.status}: {len(ids)} found"

                return look

            probes = {f"{w}-to-{r}": probe(r, w) for w in clients for r in clients}
            seen = watch(probes, search.bound_s)
    except ParityError as exc:
        _error(parity_results, key, "search-lag", "all", exc)
        raise
    late = []
    for name, vis in sorted(seen.items()):
        state: State = "pass" if vis.seen else "drift"
        parity_results.add(
            CheckResult(
                endpoint=key,
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
                            "bound": search.bound_s,
                        }
                    ],
                },
            )
        )
        if not vis.seen:
            late.append(f"{name}: {vis.describe()}")
    assert not late, "search does not find new items in time: " + "; ".join(late)


def test_cached_list_never_hides_a_write(
    parity_run: ParityRun,
    parity_results: ResultSink,
    writer: str,
    reader: str,
) -> None:
    spec, catalog, run_id = _spec(parity_run), parity_run.catalog, parity_run.run_id
    lst: ConsistencyList | None = spec.list_
    if lst is None:
        _not_declared(parity_results, "cache", "list", "a list the resource appears in")
    assert lst is not None
    key = _row(catalog, lst)
    _clients(parity_run, parity_results, key, "cache")
    w, r = parity_run.client(writer), parity_run.client(reader)
    scenario, steps = f"{writer}-to-{reader}", Steps()
    template = spec.id_template(catalog)

    def listing() -> tuple[int, dict[str, Any]]:
        # the same request every time (built-in variables only), so a cache can answer it
        got = send(r, catalog, lst, {"run_id": run_id}, run_id, name="consistency-list")
        return got.status, listed(got, lst.items, lst.id)

    try:
        # the reader caches the list now, before the write
        status, before = listing()
        steps.expect(
            f"list through {reader} before the write",
            200 <= status < 300,
            {"status": status, "listed": len(before)},
        )
        with provisioned(w, catalog, [spec.resource], run_id, label=f"consistency {scenario}") as v:
            variables = dict(v)
            made = str(render(template, variables))
            status, after = listing()
            steps.expect(
                f"created through {writer}, listed through {reader}",
                made in after,
                {"status": status, "id": made, "listed": sorted(after)[:20]},
            )
            if spec.change is not None:
                changed = send(
                    w, catalog, spec.change, variables, run_id, name="consistency-change"
                )
                _must(w, changed, "the change")
                want = _expected(spec, variables)
                status, after = listing()
                item = after.get(made)
                seen = fields_of(item, want) if item is not None else dict.fromkeys(want, ABSENT)
                steps.expect(
                    f"changed through {writer}, listed through {reader}",
                    seen == want,
                    {"status": status, "listed": seen, "expected": want},
                )
            else:
                steps.not_declared("change", "no checks.consistency.change")
        # the resource's delete ran through the writer (the teardown of what it created)
        status, after = listing()
        steps.expect(
            f"deleted through {writer}, listed through {reader}",
            made not in after,
            {"status": status, "id": made, "listed": sorted(after)[:20]},
        )
    except ParityError as exc:
        _error(parity_results, key, "cache", scenario, exc)
        raise
    query = dict(render(lst.query, {"run_id": run_id}))
    record = _report(parity_results, key, "cache", scenario, steps, {"query": query})
    assert record.state == "pass", record.summary
