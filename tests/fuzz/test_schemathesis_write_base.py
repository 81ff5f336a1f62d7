"""Which catalog scenario Schemathesis' generated writes stand in for: one sent as a user,
or an anonymous one where the endpoint is public (an API without users, such as
json-server, or a register endpoint), never an anonymous variant of a protected one."""

from __future__ import annotations

from pathlib import Path

from api_checks.test_fuzz_schemathesis import _write_base
from parity.core.catalog import load_catalog

CATALOG = """\
version: 1
roles: [anonymous, alice]
endpoints:
  - id: posts.create
    method: POST
    route: /posts
    scenarios:
      - {name: bad, json: {}, expect: 400}
      - {name: ok, json: {title: "parity {run_id} p"}, expect: 201}
  - id: mocs.create
    method: POST
    route: /mocs
    auth: user
    scenarios:
      - {name: anonymous, json: {title: t}, expect: 201}
      - {name: owner, as: alice, json: {title: t}, expect: 201}
  - id: mocs.delete
    method: DELETE
    route: /mocs/1
    auth: user
    scenarios:
      - {name: anonymous, expect: 204}
"""


def test_an_anonymous_write_is_a_base_only_on_a_public_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    catalog = load_catalog(path)
    public = _write_base(catalog.get("posts.create"))
    assert public is not None and public.name == "ok"
    protected = _write_base(catalog.get("mocs.create"))
    assert protected is not None and protected.name == "owner"
    assert _write_base(catalog.get("mocs.delete")) is None


def test_reads_and_stateless_endpoints_have_nothing_to_undo(tmp_path: Path) -> None:
    from api_checks.test_fuzz_schemathesis import _uncleanable

    path = tmp_path / "catalog.yaml"
    path.write_text(
        CATALOG
        + """\
  - id: echo
    method: POST
    route: /post
    stateless: true
    scenarios: [{name: json, json: {a: 1}, expect: 200}]
  - id: store
    method: POST
    route: /store
    scenarios: [{name: json, json: {a: 1}, expect: 200}]
  - id: preflight
    method: OPTIONS
    route: /store
    scenarios: [{name: default, expect: 204}]
""",
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    for endpoint_id in ("echo", "preflight"):
        endpoint = catalog.get(endpoint_id)
        assert _uncleanable(catalog, endpoint, _write_base(endpoint)) is None
    store = catalog.get("store")
    reason = _uncleanable(catalog, store, _write_base(store))
    assert reason is not None and "nothing deletes again" in reason


def test_a_binary_answer_has_evidence_text_not_a_traceback() -> None:
    from types import SimpleNamespace

    from api_checks.test_fuzz_schemathesis import _text_of

    random_bytes = SimpleNamespace(content=b"\x88\xff\x00ok")
    assert _text_of(random_bytes) == "\ufffd\ufffd\x00ok"
    assert _text_of(SimpleNamespace(content=b"")) == ""
