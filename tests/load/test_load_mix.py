"""parity/core/load_mix.py: the load mix is catalog data. Without ``checks.load`` it is the
read-only scenarios at equal weight; a declared mix is validated when the catalog loads;
a simulated user (:class:`Player`) runs catalog scenarios through a sender, every request
named by its route template. No Locust here (tests/load/test_load_gate.py runs it)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from parity.core.catalog import Catalog, load_catalog
from parity.core.errors import CatalogError, UsageError
from parity.core.load_mix import LoadAnswer, LoadRequest, Player, build_mix, default_cases

ROOT = Path(__file__).resolve().parents[2]

API = """\
version: 1
roles: [anonymous, alice, bob]
resources:
  note:
    create: {as: alice, method: POST, path: /notes, json: {title: "parity {run_id} note"}}
    save: {noteId: id}
    delete: {as: alice, method: DELETE, path: "/notes/{noteId}"}
endpoints:
  - id: ping
    method: GET
    route: /ping
    scenarios: [{name: default, expect: 200}, {name: teapot, expect: 418}]
  - id: notes.list
    method: GET
    route: /notes
    as: alice
    scenarios:
      - {name: default, query: {limit: 5}, expect: 200}
      - {name: with-one, uses: [note], expect: 200}
      - {name: as-bob, as: bob, headers: {X-Token: "{token}"}, expect: [200, 204]}
  - id: notes.get
    method: GET
    route: /notes/{noteId}
    as: alice
    scenarios:
      - {name: existing, uses: [note], params: {noteId: "{noteId}"}, expect: 200}
      - {name: unknown, params: {noteId: "0"}, expect: 404}
  - id: notes.update
    method: PATCH
    route: /notes/{noteId}
    as: alice
    scenarios:
      - {name: owner, uses: [note], params: {noteId: "{noteId}"}, json: {title: x}, expect: 200}
  - id: login
    method: POST
    route: /login
    scenarios:
      - {name: ok, json: {password: "{alice_password}"}, expect: 200}
  - id: whoami
    method: GET
    route: /whoami
    scenarios:
      - {name: secret, query: {p: "{alice_password}"}, expect: 200}
"""


def _catalog(tmp_path: Path, extra: str = "") -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(API + textwrap.dedent(extra), encoding="utf-8")
    return load_catalog(path)


def test_without_checks_load_the_mix_is_the_read_scenarios_at_equal_weight(
    tmp_path: Path,
) -> None:
    catalog = _catalog(tmp_path)
    picked = [f"{e.id}/{s.name}" for e, s in default_cases(catalog)]
    # GET, no set-up, only 2xx expected, no password: not teapot (418), not with-one or
    # existing (set-up), not unknown (404), not the writes, not the one sending a password
    assert picked == ["ping/default", "notes.list/default", "notes.list/as-bob"]
    mix = build_mix(catalog, writes_allowed=True)
    (reader,) = mix.users
    assert not mix.declared and reader.roles == () and reader.weight == 1
    assert [(t.id, t.weight, t.writes) for t in reader.tasks] == [
        ("ping/default", 1, False),
        ("notes.list/default", 1, False),
        ("notes.list/as-bob", 1, False),
    ]
    assert mix.roles() == ["alice", "bob"]
    # a role the run has no credentials for: its tasks are left out, and the mix says so
    mix = build_mix(catalog, writes_allowed=True, usable=lambda role: role == "alice")
    assert [t.id for t in mix.users[0].tasks] == ["ping/default", "notes.list/default"]
    assert mix.left_out == ("reader: notes.list/as-bob needs credentials for bob",)
    assert "default: the read-only scenarios" in mix.summary()


def test_a_catalog_with_nothing_to_read_has_no_mix(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nroles: [anonymous]\nendpoints:\n  - id: a\n    method: POST\n"
        "    route: /a\n    scenarios: [{name: x, expect: 201}]\n",
        encoding="utf-8",
    )
    with pytest.raises(UsageError, match="the load mix has nothing to run") as info:
        build_mix(load_catalog(path), writes_allowed=True)
    assert "checks.load" in (info.value.hint or "")


DECLARED = """\
checks:
  load:
    writes: true
    users:
      - name: visitor
        weight: 3
        as: [anonymous]
        tasks: [{scenario: ping/default}]
      - name: member
        as: [alice, bob]
        tasks:
          - {scenario: notes.list/default, weight: 2, save: {noteId: "[*].id"}}
          - {scenario: notes.get/existing, setup: saved}
          - {scenario: notes.update/owner}
"""


def test_a_declared_mix_keeps_its_writes_only_where_writes_are_allowed(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, DECLARED)
    mix = build_mix(catalog, writes_allowed=True)
    assert mix.declared
    assert [(k.name, k.weight, k.roles) for k in mix.users] == [
        ("visitor", 3, ("anonymous",)),
        ("member", 1, ("alice", "bob")),
    ]
    member = mix.users[1]
    details = member.tasks[1]
    assert (details.setup, details.writes, details.needs) == (False, False, {"noteId"})
    assert member.tasks[2].writes  # its set-up creates a note
    read_only = build_mix(catalog, writes_allowed=False)
    assert [t.id for t in read_only.users[1].tasks] == ["notes.list/default", "notes.get/existing"]
    assert read_only.left_out == ("member: notes.update/owner writes, and writes are not allowed",)


@pytest.mark.parametrize(
    ("task", "needle"),
    [
        ("{scenario: notes.get/nope}", "unknown scenario 'notes.get/nope'"),
        ("{scenario: ping}", "is not 'endpoint-id/scenario-name'"),
        ("{scenario: notes.update/owner}", "notes.update/owner writes"),
        ("{scenario: notes.get/existing, setup: saved}", "needs {noteId}, which no task"),
        ("{scenario: whoami/secret}", "a load run carries tokens only, never passwords"),
    ],
)
def test_a_bad_mix_is_one_line_naming_the_task(tmp_path: Path, task: str, needle: str) -> None:
    extra = (
        "checks:\n  load:\n    users:\n      - name: u\n        as: [alice]\n"
        f"        tasks: [{task}]\n"
    )
    with pytest.raises(CatalogError) as info:
        _catalog(tmp_path, extra)
    text = str(info.value).splitlines()[0]
    assert needle in text and "checks.load" in text.replace("field ", ""), text


def test_an_anonymous_user_cannot_send_a_logged_in_request(tmp_path: Path) -> None:
    extra = (
        "checks:\n  load:\n    users:\n      - name: u\n        as: [anonymous]\n"
        "        tasks: [{scenario: notes.list/default}]\n"
    )
    with pytest.raises(CatalogError, match="sends requests as alice, but user kind 'u' is"):
        _catalog(tmp_path, extra)


class FakeApi:
    """Answers like a tiny notes API and records every request."""

    def __init__(self, fail_deletes: int = 0) -> None:
        self.sent: list[LoadRequest] = []
        self.fail_deletes = fail_deletes

    def __call__(self, request: LoadRequest) -> LoadAnswer:
        self.sent.append(request)
        if request.method == "DELETE" and self.fail_deletes:
            self.fail_deletes -= 1
            return LoadAnswer(500, {"message": "boom"})
        body: Any = {"id": "n1"} if request.method == "POST" else [{"id": "n1"}, {"id": "n2"}]
        return LoadAnswer(201 if request.method == "POST" else 200, body)


def test_a_user_runs_catalog_scenarios_named_by_route_template(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, DECLARED)
    member = build_mix(catalog, writes_allowed=True).users[1]
    api = FakeApi()
    player = Player(catalog, member, "bob", api, run_id="r1", tokens={"alice": "ta", "bob": "tb"})
    listing, details, update = member.tasks
    # the details page needs a listed id first: the listing runs instead, then the details
    player.run(details)
    player.run(details)
    assert [(r.name, r.path) for r in api.sent][:1] == [("GET /notes", "/notes")]
    assert api.sent[1].name == "GET /notes/{noteId}"
    assert api.sent[1].path in ("/notes/n1", "/notes/n2")
    assert player.saved == {"noteId": ["n1", "n2"]}
    # the update: its set-up (create), itself, its teardown; sent as the user (bob)
    api.sent.clear()
    player.run(update)
    assert [(r.method, r.name, r.role) for r in api.sent] == [
        ("POST", "POST /notes", "bob"),
        ("PATCH", "PATCH /notes/{noteId}", "bob"),
        ("DELETE", "DELETE /notes/{noteId}", "bob"),
    ]
    assert all(r.headers["Authorization"] == "Bearer tb" for r in api.sent)
    assert api.sent[0].json == {"title": "parity r1 note"}
    assert api.sent[2].path == "/notes/n1"
    assert listing.save == {"noteId": "[*].id"}


def test_a_failed_delete_is_retried_and_what_is_left_is_tried_again_at_stop(
    tmp_path: Path,
) -> None:
    catalog = _catalog(tmp_path, DECLARED)
    member = build_mix(catalog, writes_allowed=True).users[1]
    api = FakeApi(fail_deletes=3)
    player = Player(catalog, member, "alice", api, run_id="r1", tokens={"alice": "ta"})
    player.run(member.tasks[2])
    deletes = [r for r in api.sent if r.method == "DELETE"]
    assert len(deletes) == 3 and len(player.leftovers) == 1
    assert 404 not in deletes[0].expected and 404 in deletes[1].expected  # the retry's rule
    player.stop()
    assert player.leftovers == [] and api.sent[-1].method == "DELETE"


def test_the_shipped_mix_is_the_locustfile_s_old_one() -> None:
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    mix = build_mix(catalog, writes_allowed=True)
    assert [(k.name, k.weight) for k in mix.users] == [("visitor", 3), ("builder", 1)]
    names = {t.endpoint.key for k in mix.users for t in k.tasks}
    assert "GET /api/mocs/{mocId}" in names and mix.roles() == ["alice", "bob"]
    assert all(not t.writes for t in mix.users[0].tasks)
    # on production without --allow-writes: the same mix without its two writing tasks
    assert len(build_mix(catalog, writes_allowed=False).left_out) == 2
