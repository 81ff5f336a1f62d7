"""Smoke flows (``flows:`` in the catalog, parity/checks/flows.py) against a fake backend
(httpx.MockTransport): steps in order, checks, saves, what a flow creates deleted again
whatever happens, and the verdict: pass, drift with the evidence, error when nothing can be
judged. And the loader: a flow's mistakes are one clear line each."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.checks.flows import FLOW_CHECK, flow_row, run_flow
from parity.core.catalog import Catalog, load_catalog
from parity.core.config import AuthSettings, Secret
from parity.core.errors import CatalogError
from parity.engine.auth import StaticTokenProvider
from parity.engine.client import BackendClient

CATALOG = """\
version: 1
roles: [anonymous, alice]
resources:
  shelf:
    create: {as: alice, method: POST, path: /shelves, json: {name: "shelf {run_id}"}}
    save: {shelfId: id}
    delete: {as: alice, method: DELETE, path: "/shelves/{shelfId}"}
endpoints:
  - id: books.create
    method: POST
    route: /books
    as: alice
    scenarios: [{name: created, json: {title: x}, expect: 201}]
  - id: books.list
    method: GET
    route: /books
    scenarios: [{name: default, expect: 200}]
  - id: books.top
    method: GET
    route: /books/top
    scenarios: [{name: default, expect: 200}]
  - id: books.get
    method: GET
    route: /books/{bookId}
    scenarios: [{name: unknown, params: {bookId: nope}, expect: 404}]
  - id: books.delete
    method: DELETE
    route: /books/{bookId}
    as: alice
    scenarios: [{name: unknown, params: {bookId: nope}, expect: 404}]
  - id: shelves.get
    method: GET
    route: /shelves/{shelfId}
    scenarios: [{name: unknown, params: {shelfId: nope}, expect: 404}]
flows:
  - name: book-lifecycle
    tags: [smoke]
    uses: [shelf]
    steps:
      - name: create a book
        as: alice
        method: POST
        path: /books
        json: {title: "parity {run_id} book", pages: 120, shelf: "{shelfId}"}
        expect: 201
        creates:
          save: {bookId: id}
          delete: {as: alice, method: DELETE, path: "/books/{bookId}"}
        check: {title: "parity {run_id} book", pages: 120, draft: false, id: {present: true}}
      - name: list it
        method: GET
        path: /books
        check: {"[*].id": {contains: "{bookId}"}, secret: {present: false}}
      - name: read it
        method: GET
        path: "/books/{bookId}"
        expect: 200
        check: {shelf: "{shelfId}"}
        save: {title: title}
      - name: delete it
        as: alice
        method: DELETE
        path: "/books/{bookId}"
        expect: 204
      - name: read it gone
        method: GET
        path: "/books/{bookId}"
        expect: 404
"""


class Library:
    """A tiny in-memory API of books and shelves; ``break_`` makes it answer wrong."""

    def __init__(self) -> None:
        self.books: dict[str, dict[str, Any]] = {}
        self.shelves: set[str] = set()
        self.log: list[str] = []
        self.counter = 0
        self.break_: dict[str, Any] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        self.log.append(f"{method} {path}")
        if self.break_.get("html"):
            return httpx.Response(
                200, text="<html>proxy</html>", headers={"content-type": "text/html"}
            )
        if self.break_.get("refuse"):
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if (method, path) == ("POST", "/shelves"):
            if "shelf-status" in self.break_:
                return httpx.Response(self.break_["shelf-status"], json={"error": "full"})
            self.counter += 1
            self.shelves.add(f"s{self.counter}")
            return httpx.Response(201, json={"id": f"s{self.counter}"})
        if m := re.fullmatch(r"/shelves/(\w+)", path):
            if method == "DELETE" and m.group(1) in self.shelves:
                self.shelves.remove(m.group(1))
                return httpx.Response(204)
            return httpx.Response(404, json={"error": "no shelf"})
        if (method, path) == ("POST", "/books"):
            self.counter += 1
            book = {**json.loads(request.content), "id": f"b{self.counter}", "draft": False}
            if self.break_.get("pages-as-text"):
                book["pages"] = str(book["pages"])
            self.books[book["id"]] = book
            return httpx.Response(self.break_.get("create-status", 201), json=book)
        if (method, path) == ("GET", "/books"):
            hidden = self.break_.get("hide-in-list", False)
            return httpx.Response(200, json=[] if hidden else list(self.books.values()))
        if m := re.fullmatch(r"/books/(\w+)", path):
            found = self.books.get(m.group(1))
            if found is None:
                return httpx.Response(404, json={"error": "no book"})
            if method == "DELETE":
                del self.books[m.group(1)]
                return httpx.Response(204)
            return httpx.Response(200, json=found)
        return httpx.Response(404, json={"error": "no route"})


def _catalog(tmp_path: Path, text: str = CATALOG) -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    return load_catalog(path)


@pytest.fixture
def api() -> Library:
    return Library()


def _client(handler: Any) -> BackendClient:
    auth = StaticTokenProvider(
        AuthSettings(backend="serverless", mode="static", tokens={"ALICE": Secret("tok-a")})
    )
    transport = httpx.MockTransport(handler)
    return BackendClient("serverless", "http://api.test", auth, transport=transport)


@pytest.fixture
def client(api: Library) -> BackendClient:
    return _client(api)


def test_a_flow_that_answers_right_passes_and_leaves_nothing(
    tmp_path: Path, api: Library, client: BackendClient
) -> None:
    catalog = _catalog(tmp_path)
    (flow,) = catalog.flows
    outcome = run_flow(client, catalog, flow, "r1")
    assert outcome.state == "pass", outcome.summary
    assert outcome.summary == "5 steps as expected" and not outcome.teardown
    # the flow deleted the book itself: its teardown's 404 is no finding; the shelf is gone
    assert api.log[-2:] == ["DELETE /books/b2", "DELETE /shelves/s1"]
    assert not api.books and not api.shelves
    record = outcome.record(flow_row(flow))
    assert (record.endpoint, record.check, record.backend, record.scenario) == (
        "FLOW /book-lifecycle", FLOW_CHECK, "serverless", "book-lifecycle"
    )  # fmt: skip
    assert record.evidence["steps"][0].startswith("1. create a book: POST /books as alice -> 201")


@pytest.mark.parametrize(
    ("broken", "step", "path", "kind", "note"),
    [
        ("pages-as-text", 1, "pages", "type", 'pages is "120", expected 120'),
        ("hide-in-list", 2, "[*].id", "value", '[*].id does not hold "b2": []'),
        ("create-status", 1, "status", "status", "answered 200, expected 201"),
    ],
)
def test_a_wrong_answer_is_drift_with_the_evidence_and_still_cleans_up(
    tmp_path: Path,
    api: Library,
    client: BackendClient,
    broken: str,
    step: int,
    path: str,
    kind: str,
    note: str,
) -> None:
    api.break_[broken] = 200 if broken == "create-status" else True
    catalog = _catalog(tmp_path)
    (flow,) = catalog.flows
    outcome = run_flow(client, catalog, flow, "r1")
    assert outcome.state == "drift" and outcome.failed is not None
    assert outcome.failed.number == step and len(outcome.steps) == step  # it stopped there
    record = outcome.record(flow_row(flow))
    assert record.severity == "breaking" and record.origin == "application"
    assert record.summary.startswith(f"step {step} ({flow.steps[step - 1].name}): {note}")
    ev = record.evidence
    assert ev["step"]["number"] == step and ev["request"]["role"] in ("alice", "anonymous")
    assert (ev["differences"][0]["path"], ev["differences"][0]["kind"]) == (path, kind)
    assert ev["responses"]["serverless"]["status"] in (200, 201)
    assert "tok-a" not in json.dumps(ev["request"])  # the credential is never kept
    # what it created was deleted all the same (the created book and the shelf)
    assert not api.books and not api.shelves and not outcome.teardown


def test_an_answer_that_is_not_json_or_no_answer_is_an_error(
    tmp_path: Path, api: Library, client: BackendClient
) -> None:
    text = CATALOG.replace("    uses: [shelf]\n", "").replace(', shelf: "{shelfId}"', "")
    text = text.replace('check: {shelf: "{shelfId}"}', "check: {}")
    catalog = _catalog(tmp_path, text)
    (flow,) = catalog.flows
    api.break_["html"] = True
    outcome = run_flow(client, catalog, flow, "r1")
    assert outcome.state == "error" and "not JSON (text/html" in outcome.summary, outcome.summary
    assert outcome.record(flow_row(flow)).evidence["error"].startswith("step 1 (create a book)")
    api.break_ = {"refuse": True}
    outcome = run_flow(client, catalog, flow, "r1")
    assert outcome.state == "error" and "connection refused" in outcome.summary


def test_a_set_up_that_fails_is_an_error_naming_the_resource(
    tmp_path: Path, api: Library, client: BackendClient
) -> None:
    api.break_["shelf-status"] = 507
    catalog = _catalog(tmp_path)
    outcome = run_flow(client, catalog, catalog.flows[0], "r1")
    assert outcome.state == "error" and not outcome.steps
    assert outcome.summary.startswith("the flow could not be judged: set-up: flow book-lifecycle")
    assert "resource shelf (create)" in outcome.summary and "507" in outcome.summary


def test_a_delete_at_teardown_finding_nothing_is_a_finding_unless_the_flow_deleted(
    tmp_path: Path, api: Library
) -> None:
    # the flow never deletes; the book vanishes on its own: its teardown's 404 is reported
    text = CATALOG[: CATALOG.index("      - name: delete it")]
    catalog = _catalog(tmp_path, text)
    (flow,) = catalog.flows

    def vanish(request: httpx.Request) -> httpx.Response:
        answer = api(request)
        if request.method == "GET" and request.url.path.startswith("/books/"):
            api.books.clear()
        return answer

    outcome = run_flow(_client(vanish), catalog, flow, "r1")
    assert outcome.state == "error", outcome.summary
    assert "gone before the teardown and the flow deleted nothing" in outcome.summary


def test_checks_compare_types_strictly_and_render_saved_values(
    tmp_path: Path, api: Library, client: BackendClient
) -> None:
    text = CATALOG.replace("draft: false", "draft: 0")
    catalog = _catalog(tmp_path, text)
    outcome = run_flow(client, catalog, catalog.flows[0], "r1")
    assert outcome.state == "drift" and "draft is false, expected 0" in outcome.summary


def test_route_for_prefers_the_most_literal_route(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    top = catalog.route_for("GET", "/books/top")
    one = catalog.route_for("GET", "/books/{bookId}")
    assert top is not None and top[0].id == "books.top" and top[1] == {}
    assert one is not None and one[0].id == "books.get" and one[1] == {"bookId": "{bookId}"}
    assert catalog.route_for("PATCH", "/books/1") is None
    assert catalog.flow_writes(catalog.flows[0])


BAD_FLOWS = [
    ("path: /books\n        json", "path: /bookz\n        json", "POST /bookz is no endpoint"),
    (
        'path: "/books/{bookId}"\n        expect: 200',
        'path: "/books/{bookId}?x=1"\n        expect: 200',
        "the path has a query string",
    ),
    ('check: {shelf: "{shelfId}"}', 'check: {shelf: "{shelfid}"}', "unknown variable {shelfid}"),
    ("id: {present: true}", "id: {present: yes please}", "present takes true or false"),
    (
        "        expect: 204\n",
        "        expext: 204\n",
        "unknown key 'expext'. Did you mean 'expect'?",
    ),
    ("    uses: [shelf]\n", "    uses: [shelve]\n", "unknown resource 'shelve'"),
    ("  - name: book-lifecycle\n", "  - name: book lifecycle\n", "field name"),
    ("[*].id", "[*]..id", "malformed JSON path"),
]


@pytest.mark.parametrize(("old", "new", "fragment"), BAD_FLOWS, ids=[b[2][:24] for b in BAD_FLOWS])
def test_a_flow_mistake_is_one_clear_line(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    assert old in CATALOG
    with pytest.raises(CatalogError) as info:
        _catalog(tmp_path, CATALOG.replace(old, new, 1))
    msg = str(info.value)
    assert "\n" not in msg and fragment in msg and "flow book" in msg, msg


def test_two_flows_with_one_name_are_refused(tmp_path: Path) -> None:
    entry = CATALOG[CATALOG.index("  - name: book-lifecycle") :]
    with pytest.raises(CatalogError, match="duplicate flow name 'book-lifecycle'"):
        _catalog(tmp_path, CATALOG + entry)
