"""The differential fuzzing engine's pieces, without a backend: which catalog endpoints
are fuzzed, what their generated queries and bodies look like, and the reproducing curl
line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import find as _find
from hypothesis import given, settings

from parity.checks.fuzz import curl_line, fuzz_case, fuzz_targets, query_strategy
from parity.checks.fuzzbody import (
    BODY_UNKNOWN_KEYS,
    MISSING,
    body_strategy,
    body_targets,
    run_id_prefix,
)
from parity.core.catalog import Case, load_catalog
from parity.core.config import AuthSettings
from parity.core.templating import render
from parity.engine.auth import StaticTokenProvider
from parity.engine.client import BackendClient
from parity.engine.runner import Exchange

#: find() asks whether a strategy can produce an edge at all: derandomized and generous, so
#: the answer does not depend on the run's random seed (pytest-randomly reseeds Hypothesis).
_FIND = settings(max_examples=2000, derandomize=True, database=None)


def find(strategy: Any, condition: Any) -> Any:
    return _find(strategy, condition, settings=_FIND)


ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "fixtures" / "catalog.yaml")


def test_targets_are_read_only_endpoints_with_query_parameters() -> None:
    targets = {c.endpoint.id: c for c in fuzz_targets(CATALOG)}
    assert {"mocs.list", "mocs.search", "images.list"} <= set(targets)
    for case in targets.values():
        assert case.endpoint.read_only and not case.endpoint.route_params
        assert not case.scenario.uses and all(200 <= s < 300 for s in case.scenario.expect)


@settings(max_examples=50, database=None)
@given(query_strategy(CATALOG.get("mocs.search")))
def test_a_search_always_carries_its_term(query: dict[str, object]) -> None:
    assert "q" in query  # every 2xx scenario sends it


@settings(max_examples=50, database=None)
@given(query_strategy(CATALOG.get("mocs.list")))
def test_list_queries_use_known_and_unknown_keys(query: dict[str, object]) -> None:
    known = {"page", "limit", "q", "sort", "theme"}
    unknown = {"unknownField", "foo[bar]", "__proto__", "debug"}
    assert set(query) <= known | unknown


def _static(name: str, url: str, header: str = "Authorization", template: str = "Bearer {token}"):  # type: ignore[no-untyped-def]
    settings = AuthSettings(backend=name, mode="static", header=header, template=template)
    return BackendClient(name, url, StaticTokenProvider(settings))


def test_curl_line_reproduces_without_the_secret() -> None:
    client = _static("serverless", "http://127.0.0.1:9/")
    line = curl_line(client, "GET", "/api/mocs/search", {"q": "🧱 x"}, "alice")
    assert line.startswith("curl -sS -i -X GET 'http://127.0.0.1:9/api/mocs/search?q=%F0%9F%A7%B1")
    assert line.endswith('-H "Authorization: Bearer $PARITY_TOKEN_ALICE"')
    assert "Authorization" not in curl_line(client, "GET", "/health", {}, "anonymous")


def test_curl_line_keeps_the_base_path_once_and_the_backends_own_auth_header() -> None:
    client = _static("express", "http://127.0.0.1:9/api", header="X-Auth", template="Token {token}")
    for path in ("/users/1", "/api/users/1"):  # a route, or the path as it was sent
        line = curl_line(client, "GET", path, {}, "power-user")
        assert " http://127.0.0.1:9/api/users/1 " in line, line
    assert line.endswith('-H "X-Auth: Token $PARITY_TOKEN_POWER_USER"')
    bare = BackendClient("express", "http://127.0.0.1:9")  # auth mode none: no header
    assert "-H" not in curl_line(bare, "GET", "/x", {}, "alice")


# --- bodies (parity/checks/fuzzbody.py) ---------------------------------------------------------


def test_body_targets_are_json_writes_with_a_users_2xx_base() -> None:
    targets = {c.endpoint.id: c for c in body_targets(CATALOG)}
    assert {
        "mocs.create",
        "mocs.update",
        "albums.create",
        "images.update",
        "wishlist.create",
        "wishlist.update",
        "wishlist.reorder",
    } <= set(targets)
    assert "images.upload" not in targets  # multipart: not a JSON body
    for case in targets.values():
        assert not case.endpoint.read_only and isinstance(case.scenario.json_body, dict)
        assert all(200 <= s < 300 for s in case.scenario.expect)


WRAPPED = """\
version: 1
roles: [anonymous]
endpoints:
  - id: users.register
    method: POST
    route: /users
    scenarios:
      - name: ok
        json: {user: {username: "u{unique}", email: "{unique}@x.test", profile: {bio: "hi"}}}
        expect: 201
"""


def test_a_wrapped_anonymous_write_is_fuzzed_at_every_depth(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(WRAPPED, encoding="utf-8")
    catalog = load_catalog(path)
    (case,) = body_targets(catalog)  # register: an anonymous write is a target too
    assert case.scenario.role == "anonymous"
    bodies = body_strategy(case, catalog)

    def user(body: dict[str, Any]) -> Any:
        return body.get("user")

    find(bodies, lambda b: isinstance(user(b), dict) and "email" not in user(b))
    find(bodies, lambda b: isinstance(user(b), dict) and user(b).get("username") is None)
    find(bodies, lambda b: isinstance(user(b), dict) and "id" in user(b))  # unknown, nested
    find(bodies, lambda b: isinstance(user(b), dict) and user(b).get("profile") == {})

    def nested_unknown(b: dict[str, Any]) -> bool:
        profile = user(b).get("profile") if isinstance(user(b), dict) else None
        return isinstance(profile, dict) and "__proto__" in profile

    find(bodies, nested_unknown)
    find(bodies, lambda b: user(b) == [] or user(b) is None)  # the wrapper itself


def _body_case(endpoint_id: str) -> Case:
    return next(c for c in body_targets(CATALOG) if c.endpoint.id == endpoint_id)


@settings(max_examples=80, database=None)
@given(body_strategy(_body_case("mocs.create"), CATALOG))
def test_generated_bodies_change_the_base_and_keep_the_run_id(body: dict[str, object]) -> None:
    base = _body_case("mocs.create").scenario.json_body
    known = set(base)
    assert set(body) - known <= set(BODY_UNKNOWN_KEYS)
    changed = {k for k in known | set(body) if body.get(k, MISSING) != base.get(k, MISSING)}
    assert len(changed) <= 3  # (a generated value may happen to equal the base's)
    title = body.get("title")
    if isinstance(title, str):  # every generated title is recognisable as this run's
        assert title.startswith("parity {run_id}")
    for value in body.values():  # only the catalog's own placeholders: no stray braces
        if isinstance(value, str) and value != "parity {run_id} bad":
            assert "{" not in value.replace("{run_id}", "")


@settings(max_examples=60, database=None)
@given(body_strategy(_body_case("images.update"), CATALOG))
def test_placeholders_the_base_cannot_fill_are_never_sent(body: dict[str, object]) -> None:
    # images.update's base (owner) has no album: "{albumId}" (from into-album) is not usable.
    assert body.get("albumId") != "{albumId}"


def test_run_id_prefix_comes_from_the_catalogs_values() -> None:
    assert run_id_prefix(["x", "parity {run_id} moc"]) == "parity {run_id} "
    assert run_id_prefix(["x", 3]) is None


def test_body_strategy_covers_the_edges() -> None:
    # The edges the issue names are reachable: find() fails when a strategy cannot produce it.
    moc = body_strategy(_body_case("mocs.create"), CATALOG)
    find(moc, lambda b: b.get("pieceCount") == 0)
    find(moc, lambda b: b.get("pieceCount") == 2**31)
    find(moc, lambda b: isinstance(b.get("title"), str) and len(b["title"]) > 1000)
    find(moc, lambda b: isinstance(b.get("title"), str) and "🧱" in b["title"])
    find(moc, lambda b: "title" not in b)
    find(moc, lambda b: b.get("title") is None)
    find(moc, lambda b: isinstance(b.get("pieceCount"), str))
    find(moc, lambda b: "authorId" in b)
    wish = body_strategy(_body_case("wishlist.create"), CATALOG)
    for priority in range(7):

        def has(body: dict[str, Any], wanted: int = priority) -> bool:
            return type(body.get("priority")) is int and body["priority"] == wanted

        find(wish, has)


def test_curl_line_carries_a_json_body() -> None:
    client = _static("express", "http://127.0.0.1:9")
    line = curl_line(client, "POST", "/api/mocs", {}, "alice", {"title": "🧱 it's"}, has_body=True)
    assert "-H 'Content-Type: application/json'" in line
    assert '--data-raw \'{"title":"🧱 it\'"\'"\'s"}\'' in line
    assert line.endswith('-H "Authorization: Bearer $PARITY_TOKEN_ALICE"')


def test_multipart_with_a_non_ascii_field_name_is_parsed_not_a_crash() -> None:
    # Found by the generated writes (Schemathesis, POST /api/images): a part named with a
    # character outside latin-1 made the sandbox's multipart parser raise (500 on both).
    from sandbox.bodies import parse_multipart

    boundary = "b0undary"
    parts = [("8\U000c8cb6", "x"), ("title", "Zürich 🧱")]
    raw = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode()
            for n, v in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    form, files = parse_multipart(raw, f"multipart/form-data; boundary={boundary}")
    assert form == {"8\U000c8cb6": "x", "title": "Zürich 🧱"} and files == {}


# --- fuzz_case on bodies, against in-memory backends -------------------------------------


@dataclass
class _FakeBackend:
    """A backend answering POST /api/mocs like the sandbox core: title 1..``max_title``
    characters, pieceCount 1..1000000; ``leak`` makes every create fail to clean up."""

    name: str
    max_title: int
    leak: bool = False
    live: bool = True
    sent: int = 0

    @property
    def client(self) -> BackendClient:
        return BackendClient(self.name, f"http://{self.name}.invalid")

    def exchange(self, case: Case, scenario: Any) -> Exchange:
        self.sent += 1
        body = render(scenario.json_body, {"run_id": "r1"})
        title, pieces = body.get("title"), body.get("pieceCount")
        ok = (
            isinstance(title, str)
            and 0 < len(title) <= self.max_title
            and type(pieces) is int
            and 1 <= pieces <= 1_000_000
            and set(body) <= {"title", "description", "theme", "pieceCount", "tags"}
        )
        status = 201 if ok else 400
        answer = (
            {"status": "success", "message": "MOC created", "data": {"title": title}}
            if ok
            else {"status": "error", "message": "Validation failed", "data": None}
        )
        return Exchange(
            backend=self.name,
            endpoint=case.endpoint.id,
            scenario=scenario.name,
            role=scenario.role,
            method="POST",
            route="/api/mocs",
            url=f"http://{self.name}.invalid/api/mocs",
            request_headers={},
            request_body=json.dumps(body),
            status=status,
            headers={"content-type": "application/json"},
            json=answer,
            expected=(201,),
            teardown_errors=["DELETE /api/mocs/x answered 500"] if ok and self.leak else [],
        )

    def again(self, case: Case, scenario: Any) -> Exchange | None:
        return None


def _fuzz_create(candidate: _FakeBackend, **kw: Any) -> Any:
    case = _body_case("mocs.create")
    return fuzz_case(
        case,
        _FakeBackend("express", 200),  # type: ignore[arg-type]
        candidate,  # type: ignore[arg-type]
        kind="body",
        strategy=body_strategy(case, CATALOG),
        max_examples=40,
        **kw,
    )


def test_a_body_difference_is_shrunk_to_the_shortest_title_and_reproducible(
    tmp_path: Path,
) -> None:
    outcome = _fuzz_create(_FakeBackend("serverless", 10**6), database=tmp_path / "db")
    assert outcome.failed and outcome.record.state == "drift"
    evidence = outcome.record.evidence
    body = evidence["body"]
    base = render(_body_case("mocs.create").scenario.json_body, {"run_id": "r1"})
    assert {k: v for k, v in body.items() if k != "title"} == {
        k: v for k, v in base.items() if k != "title"
    }
    assert len(body["title"]) == 201 and body["title"].startswith("parity r1 ")
    assert (
        "--data-raw" in evidence["curl"]["serverless"]
        and body["title"] in (evidence["curl"]["serverless"])
    )
    assert "(201 chars)" in outcome.record.summary and "status 400 -> 201" in outcome.record.summary
    # Stored in the example database: one example replays the minimal body first.
    again = _fuzz_create(_FakeBackend("serverless", 10**6), database=tmp_path / "db")
    assert again.examples <= 3 and again.record.evidence["body"] == body


def test_alike_backends_pass_and_say_how_many_bodies_were_accepted() -> None:
    outcome = _fuzz_create(_FakeBackend("serverless", 200))
    assert outcome.record.state == "pass", outcome.record.summary
    accepted = outcome.record.evidence["accepted"]
    assert 0 < accepted < outcome.examples == 40
    assert f"({accepted} accepted by express)" in outcome.record.summary


def test_a_create_that_is_not_cleaned_up_is_an_error() -> None:
    outcome = _fuzz_create(_FakeBackend("serverless", 200, leak=True))
    assert outcome.record.state == "error" and "left data behind" in outcome.record.summary
    assert outcome.record.evidence["teardown_errors"]


def test_body_fuzzing_needs_a_strategy() -> None:
    case = _body_case("mocs.create")
    with pytest.raises(ValueError, match="strategy"):
        fuzz_case(case, None, None, kind="body")  # type: ignore[arg-type]
