"""The catalog's ``checks.consistency`` section: the shipped catalog declares every step; a
mistake in it is one clear line naming the place (resources, endpoint ids, roles, route
parameters, variables, JSON paths)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.checks.families import unmet
from parity.core.catalog import load_catalog
from parity.core.config import Settings
from parity.core.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]

CATALOG = """\
version: 1
roles: [anonymous, alice]
resources:
  note:
    create: {as: alice, method: POST, path: /notes, json: {text: "parity {run_id}"}}
    save: {noteId: id}
    delete: {as: alice, method: DELETE, path: "/notes/{noteId}"}
  receipt:
    create: {as: alice, method: POST, path: /receipts, json: {}}
    save: {receiptId: id}
    leaves: receipts are kept for the auditors
endpoints:
  - id: notes.list
    method: GET
    route: /notes
    scenarios: [{name: default, expect: 200}]
  - id: notes.get
    method: GET
    route: /notes/{noteId}
    scenarios: [{name: unknown, params: {noteId: x}, expect: 404}]
  - id: notes.update
    method: PUT
    route: /notes/{noteId}
    as: alice
    scenarios: [{name: unknown, params: {noteId: x}, json: {}, expect: 404}]
checks:
  consistency:
    resource: note
    read: {endpoint: notes.get, compare: [text]}
    change: {endpoint: notes.update, json: {text: changed}, expect: {text: changed}}
    list: {endpoint: notes.list, query: {q: "{run_id}"}}
"""


def test_the_shipped_catalog_declares_every_consistency_step() -> None:
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    spec = catalog.checks.consistency
    assert spec is not None
    assert {k for k, _ in spec.calls()} == {"read", "change", "search", "list"}
    assert spec.id_template(catalog) == "{mocId}" and spec.read.gone == [404]
    assert unmet("consistency", catalog, Settings.load(environ={})) is None
    assert unmet("smoke-flows", catalog, Settings.load(environ={})) is None


def test_a_small_section_loads_with_its_defaults(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, CATALOG))
    spec = catalog.checks.consistency
    assert spec is not None and spec.search is None and spec.list_ is not None
    assert spec.id_template(catalog) == "{noteId}"  # the resource's first saved variable
    assert spec.list_.items is None and spec.list_.id == "id"  # the answer is the list


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    return path


F = "field checks.consistency."  # how an error names a key of the section
BAD = [
    ("resource: note", "resource: nope", F + "resource", "unknown resource 'nope'"),
    ("resource: note", "resource: receipt", F + "resource", "cannot be deleted (leaves:)"),
    ("endpoint: notes.get,", "endpoint: notes.gte,", F + "read.endpoint", "unknown endpoint id"),
    (
        'query: {q: "{run_id}"}',
        'query: {q: "{noteId}"}',
        F + "list.query",
        "unknown variable {noteId}",
    ),
    (
        "{endpoint: notes.get,",
        "{endpoint: notes.get, as: carol,",
        F + "read.as",
        "unknown role 'carol'",
    ),
    (
        "{endpoint: notes.get,",
        "{endpoint: notes.get, params: {id: 1},",
        F + "read.params.id",
        "has no parameter 'id'",
    ),
    (
        "expect: {text: changed}",
        "expect: {text: '{nope}'}",
        F + "change.expect",
        "unknown variable {nope}",
    ),
    (", expect: {text: changed}", "", F + "change", "missing required field 'expect'"),
    ("compare: [text]", "compare: ['text..x']", F + "read.compare", "malformed JSON path"),
    (
        "    resource: note\n",
        "    resource: note\n    bound: 3\n",
        "consistency",
        "unknown key 'bound'",
    ),
]


@pytest.mark.parametrize(("old", "new", "where", "problem"), BAD, ids=[b[3][:30] for b in BAD])
def test_a_consistency_mistake_is_one_clear_line(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    assert old in CATALOG
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(tmp_path, CATALOG.replace(old, new, 1)))
    msg = str(info.value)
    assert "\n" not in msg and where in msg and problem in msg, msg
    assert msg.startswith(f"{tmp_path / 'catalog.yaml'}: ")


def test_a_route_parameter_nothing_saved_is_refused(tmp_path: Path) -> None:
    text = CATALOG.replace("save: {noteId: id}", "save: {other: id}")
    text = text.replace('path: "/notes/{noteId}"}', 'path: "/notes/{other}"}')
    with pytest.raises(CatalogError, match=r"route parameter 'noteId' of /notes/\{noteId\}"):
        load_catalog(_write(tmp_path, text))
