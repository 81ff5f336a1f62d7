"""State the suite creates: natural keys that never collide ({unique} per scenario run,
{nonce} per request), resources the API cannot delete counted instead of leaking unseen,
and a teardown that tells the truth (a 404 for something this run created and did not
delete is a finding, not "already gone")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from parity.core.catalog import load_catalog
from parity.core.results import CheckResult
from parity.engine.client import BackendClient
from parity.engine.matrix import build_matrix
from parity.engine.runner import run_scenario

CATALOG = """\
version: 1
roles: [anonymous]
resources:
  user:
    create: {method: POST, path: /users, json: {username: "u{unique}", email: "{unique}@x.test"}}
    save: {userId: id}
    leaves: the API has no way to delete a user
  article:
    create: {method: POST, path: /articles, json: {title: "parity {run_id} a"}}
    save: {slug: slug}
    delete: {method: DELETE, path: "/articles/{slug}"}
endpoints:
  - id: login
    method: POST
    route: /login
    scenarios:
      - name: registered
        uses: [user]
        json: {username: "u{unique}", request: "{nonce}"}
        expect: 200
  - id: articles.get
    method: GET
    route: /articles/{slug}
    scenarios:
      - name: existing
        uses: [article]
        params: {slug: "{slug}"}
        expect: 200
  - id: notes.create
    method: POST
    route: /notes
    scenarios:
      - name: not-an-object
        json: [null, null]
        expect: 201
        creates:
          save: {noteId: id}
          delete: {method: DELETE, path: "/notes/{noteId}"}
  - id: articles.delete
    method: DELETE
    route: /articles/{slug}
    scenarios:
      - name: owner
        uses: [article]
        params: {slug: "{slug}"}
        expect: 200
"""


class Api:
    """A fake backend: users cannot be deleted; ``renames`` makes it change an article's
    slug after creating it (as a rewrite that derives slugs differently would)."""

    def __init__(self, renames: bool = False) -> None:
        self.renames = renames
        self.users: list[dict[str, Any]] = []
        self.articles: set[str] = set()
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path, method = request.url.path, request.method
        if method == "POST" and path == "/users":
            body = json.loads(request.content)
            if any(u["username"] == body["username"] for u in self.users):
                return httpx.Response(409, json={"error": "username taken"})
            self.users.append(body)
            return httpx.Response(201, json={"id": len(self.users)})
        if method == "POST" and path == "/articles":
            slug = f"a{len(self.articles) + 1}"
            self.articles.add(slug + ("-renamed" if self.renames else ""))
            return httpx.Response(201, json={"slug": slug})
        slug = path.rsplit("/", 1)[-1]
        if path.startswith("/articles/") and slug in self.articles:
            if method == "DELETE":
                self.articles.discard(slug)
            return httpx.Response(200, json={"slug": slug})
        if path == "/login":
            return httpx.Response(200, json={"ok": True})
        if method == "POST" and path == "/notes":  # stores what it got, no id to find it by
            return httpx.Response(201, json=json.loads(request.content))
        return httpx.Response(404, json={"error": "not found"})


def _setup(tmp_path: Path, api: Api) -> tuple[BackendClient, Any]:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    return BackendClient("express", "http://api.test", transport=httpx.MockTransport(api)), (
        load_catalog(path)
    )


def test_natural_keys_never_collide_and_undeletable_resources_are_counted(
    tmp_path: Path,
) -> None:
    api = Api()
    client, catalog = _setup(tmp_path, api)
    login = catalog.get("login")
    for _ in range(3):  # the same create by natural key, three runs of the scenario
        exchange = run_scenario(client, catalog, login, login.scenarios[0], "r7")
        assert exchange.status == 200 and not exchange.teardown_errors
    names = [u["username"] for u in api.users]
    assert len(set(names)) == 3 and all(n.startswith("upr7") for n in names)
    sent = [json.loads(r.content) for r in api.sent if r.url.path == "/login"]
    # {unique}: the same value in the set-up and the request of one run; {nonce}: per request
    assert [s["username"] for s in sent] == names
    assert len({s["request"] for s in sent}) == 3
    assert len(client.left_log) == 3 and {r for _, r, _ in client.left_log} == {"user"}
    records = [
        CheckResult("POST /login", "status", "pass", test_id=f"t{i}",
                    evidence={"left_behind": [{"resource": "user", "why": "no delete"}]})
        for i in range(3)
    ]  # fmt: skip
    records.append(CheckResult("POST /login", "envelope", "pass", test_id="t0",
                               evidence={"left_behind": [{"resource": "user"}]}))  # fmt: skip
    assert build_matrix(records)["summary"]["left_behind"] == {"user": 3}


def test_a_create_whose_answer_gives_nothing_to_delete_it_by_is_counted(tmp_path: Path) -> None:
    # json-server stores a body that is not an object and answers it back: no id
    client, catalog = _setup(tmp_path, Api())
    create = catalog.get("notes.create")
    exchange = run_scenario(client, catalog, create, create.scenarios[0], "r7")
    assert exchange.status == 201
    (error,) = exchange.teardown_errors
    assert error.startswith("cannot clean up what it created")
    # left behind, counted in the matrix's summary.left_behind (through the plugin)
    assert [(r, why) for _, r, why in client.left_log] == [
        ("notes.create", "created, but its answer gives nothing to delete it by")
    ]


def test_a_resource_gone_before_its_teardown_is_a_finding(tmp_path: Path) -> None:
    client, catalog = _setup(tmp_path, Api(renames=True))
    get = catalog.get("articles.get")
    exchange = run_scenario(client, catalog, get, get.scenarios[0], "r7")
    assert exchange.status == 404  # the answer itself is judged by the checks
    assert len(exchange.teardown_errors) == 1
    assert "gone before its teardown" in exchange.teardown_errors[0]
    assert "parity cleanup --run-id" in exchange.teardown_errors[0]


def test_a_resource_the_scenario_deleted_itself_is_fine(tmp_path: Path) -> None:
    client, catalog = _setup(tmp_path, Api())
    delete = catalog.get("articles.delete")
    exchange = run_scenario(client, catalog, delete, delete.scenarios[0], "r7")
    assert exchange.status == 200 and exchange.teardown_errors == []


def test_two_undo_steps_naming_one_resource_are_no_finding(tmp_path: Path) -> None:
    # A scenario that changes its `uses:` resource and declares `creates:` for the case
    # where the candidate moves it (an id in a PATCH body): where it did not move, both undo
    # steps delete the same path, and the second one's 404 is this teardown's own doing.
    path = tmp_path / "catalog.yaml"
    path.write_text(
        CATALOG
        + """\
  - id: articles.update
    method: PATCH
    route: /articles/{slug}
    scenarios:
      - name: slug-in-body
        uses: [article]
        params: {slug: "{slug}"}
        json: {slug: moved}
        expect: 200
        creates:
          save: {movedSlug: slug}
          delete: {method: DELETE, path: "/articles/{movedSlug}"}
""",
        encoding="utf-8",
    )
    api = Api()
    client = BackendClient("express", "http://api.test", transport=httpx.MockTransport(api))
    update = load_catalog(path).get("articles.update")
    exchange = run_scenario(client, load_catalog(path), update, update.scenarios[0], "r7")
    assert exchange.status == 200 and exchange.teardown_errors == []
    deletes = [r.url.path for r in api.sent if r.method == "DELETE"]
    assert deletes == ["/articles/a1", "/articles/a1"]  # the second answered 404
    assert api.articles == set()


def test_a_block_that_deletes_what_it_was_provisioned_is_no_finding(tmp_path: Path) -> None:
    # Generated DELETEs (Schemathesis) go out through another client: the block says it
    # may delete what was provisioned; without that, a resource gone is a finding.
    import pytest

    from parity.core.errors import SetupError
    from parity.engine.runner import provisioned

    api = Api()
    client, catalog = _setup(tmp_path, api)
    with provisioned(client, catalog, ["article"], "r7", deletes=True) as saved:
        api.articles.discard(saved["slug"])
    with (
        pytest.raises(SetupError, match="gone before its teardown"),
        provisioned(client, catalog, ["article"], "r7") as saved,
    ):
        api.articles.discard(saved["slug"])


def test_send_step_sends_the_steps_body(tmp_path: Path) -> None:
    # A `creates:` delete that puts a singular resource back is a PUT with a body.
    from parity.core.catalog import Step
    from parity.engine.runner import send_step

    api = Api()
    client, _ = _setup(tmp_path, api)
    step = Step.model_validate(
        {"method": "PUT", "path": "/profile/{who}", "json": {"name": "seed {run_id}"}}
    )
    send_step(client, step, {"who": "me"}, "r7")
    (sent,) = api.sent
    assert sent.method == "PUT" and sent.url.path == "/profile/me"
    assert json.loads(sent.content) == {"name": "seed r7"}
