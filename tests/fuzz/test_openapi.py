"""``parity openapi``: the document built from the catalog and contracts is valid OpenAPI
3.1 (checked by openapi-spec-validator), carries the contracts' schemas, the bearer scheme
on non-public operations and the create -> read/patch/delete links."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from parity.core.catalog import load_catalog
from parity.core.errors import UsageError
from parity.engine.contracts import ContractStore
from parity.engine.openapi import SECURITY_SCHEME, build_openapi, resource_links, validate_document

ROOT = Path(__file__).resolve().parents[2]


def _doc() -> dict:
    return build_openapi(
        load_catalog(ROOT / "fixtures" / "catalog.yaml"), ContractStore(ROOT / "contracts/schemas")
    )


def test_document_is_valid_openapi_31_and_covers_the_catalog() -> None:
    doc = _doc()
    validate(doc)  # raises on any problem
    assert doc["openapi"].startswith("3.1")
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    ids = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    assert ids == {e.id for e in catalog.endpoints}


def test_operations_carry_parameters_bodies_schemas_security_and_links() -> None:
    doc = _doc()
    listing = doc["paths"]["/api/mocs"]["get"]
    params = {p["name"]: p for p in listing["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer"}
    assert not params["limit"]["required"]
    assert "security" not in listing  # public
    search = {p["name"]: p for p in doc["paths"]["/api/mocs/search"]["get"]["parameters"]}
    assert search["q"]["required"]  # every 2xx scenario sends it
    create = doc["paths"]["/api/mocs"]["post"]
    assert create["security"] == [{SECURITY_SCHEME: []}]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert "title" in body["properties"]
    ok = create["responses"]["201"]
    assert ok["content"]["application/json"]["schema"]["properties"]["data"]
    links = {link["operationId"] for link in ok["links"].values()}
    assert {"mocs.get", "mocs.update", "mocs.delete"} <= links
    assert ok["links"]["moc-mocs.get"]["parameters"] == {"mocId": "$response.body#/data/id"}
    upload = doc["paths"]["/api/images"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    # A file part is format: binary (tools then send it with a filename), its type declared.
    file_part = upload["multipart/form-data"]["schema"]["properties"]["file"]
    assert file_part == {"type": "string", "format": "binary"}  # png and jpeg scenarios
    encoding = upload["multipart/form-data"]["encoding"]["file"]
    assert encoding == {"contentType": "image/jpeg, image/png"}
    avatar = doc["paths"]["/api/users/me/avatar"]["post"]["requestBody"]["content"]
    assert avatar["multipart/form-data"]["schema"]["properties"]["file"]["contentMediaType"] == (
        "image/png"
    )
    schemes = doc["components"]["securitySchemes"]
    assert schemes[SECURITY_SCHEME] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_validator_rejects_a_broken_document() -> None:
    doc = _doc()
    del doc["info"]["title"]
    with pytest.raises(UsageError, match=r"not valid 3\.1"):
        validate_document(doc)
    doc = _doc()
    doc["paths"]["/api/mocs"]["get"]["parameters"][0]["in"] = "body"
    with pytest.raises(UsageError, match=r"not valid 3\.1"):
        validate_document(doc)


def test_cli_writes_the_document(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARITY_")}
    proc = subprocess.run(
        [sys.executable, "-m", "parity", "openapi", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid OpenAPI 3.1" in proc.stdout
    validate(json.loads(out.read_text()))


def test_resource_links_cover_every_resource_with_linked_operations() -> None:
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    found = {r.resource: r.operation_ids for r in resource_links(catalog)}
    assert found["album"] == ["albums.create", "albums.get", "albums.delete"]
    assert found["image"][0] == "images.upload"
    assert {"images.get", "images.update", "images.delete"} <= set(found["image"])
    assert found["wishlistItem"] == ["wishlist.create", "wishlist.update", "wishlist.delete"]
    assert "albumImage" not in found  # its saved id names no route parameter
    doc = _doc()
    for links in resource_links(catalog):
        create = links.create
        ok = next(
            v
            for k, v in doc["paths"][create.route][create.method.lower()]["responses"].items()
            if k.startswith("2")
        )
        assert {link["operationId"] for link in ok["links"].values()} >= set(
            links.operation_ids[1:]
        )


def test_text_and_empty_contracts_document_their_media_type(tmp_path: Path) -> None:
    # An HTML page, a text/plain error and an empty 204: the document says what the
    # recorded answers were (Schemathesis' content-type check reads it), not JSON.
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(
        "version: 1\nroles: [anonymous]\nendpoints:\n"
        "  - {id: home, method: GET, route: /, answers: any, scenarios:"
        " [{name: page, expect: 200}, {name: oops, expect: 500}]}\n"
        "  - {id: gone, method: DELETE, route: /x, scenarios: [{name: ok, expect: 204}]}\n",
        encoding="utf-8",
    )
    store = tmp_path / "contracts"
    for folder, status, schema in (
        ("GET_", 200, {"type": "string", "contentMediaType": "text/html",
                       "x-parity-length": ["long"]}),
        ("GET_", 500, {"type": "string", "x-parity-length": ["short"]}),
        ("DELETE_x", 204, {"type": "string", "x-parity-length": ["empty"]}),
    ):  # fmt: skip
        (store / folder).mkdir(parents=True, exist_ok=True)
        (store / folder / f"{status}.json").write_text(json.dumps(schema), encoding="utf-8")
    doc = build_openapi(load_catalog(catalog_file), ContractStore(store))
    validate(doc)
    home = doc["paths"]["/"]["get"]["responses"]
    assert home["200"]["content"] == {"text/html": {"schema": {}}}
    assert home["500"]["content"] == {"*/*": {"schema": {}}}
    assert "content" not in doc["paths"]["/x"]["delete"]["responses"]["204"]


def test_route_parameters_are_typed_from_the_scenarios(tmp_path: Path) -> None:
    # httpbin's /links/{n} routes integers only (Flask's int converter): a generated string
    # there is no request the API could answer, only the 404 of no route.
    catalog_file = tmp_path / "catalog.yaml"
    catalog_file.write_text(
        "version: 1\nroles: [anonymous]\nendpoints:\n"
        "  - {id: links, method: GET, route: '/links/{n}/{name}', scenarios:"
        " [{name: a, params: {n: 3, name: x}, expect: 200},"
        " {name: b, params: {n: 0, name: '{run_id}'}, expect: 200}]}\n",
        encoding="utf-8",
    )
    doc = build_openapi(load_catalog(catalog_file), ContractStore(tmp_path / "none"))
    params = {
        p["name"]: p["schema"] for p in doc["paths"]["/links/{n}/{name}"]["get"]["parameters"]
    }
    assert params == {"n": {"type": "integer"}, "name": {"type": "string"}}
