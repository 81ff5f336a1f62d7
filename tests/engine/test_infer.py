"""infer.py: GenSON extended with formats, declared enums, maps and additionalProperties;
byte-stable output; the committed contracts cover the catalog and are valid schemas."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from parity.core.catalog import load_catalog
from parity.core.errors import UsageError
from parity.engine.cassette import CassetteWriter, Recorded
from parity.engine.infer import (
    EndpointRules,
    build_contracts,
    contract_dir_name,
    contract_path,
    dump_schema,
    infer_body_schema,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "contracts" / "schemas"
U1 = "3f2a8c1e-1111-4c6e-9a55-2f7d0c1e9b10"
U2 = "7b9e1d2c-2222-4c6e-9a55-2f7d0c1e9b10"


def _moc(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": U1 if n % 2 else U2,
        "title": f"MOC {n}",
        "pieceCount": 100 + n,
        "createdAt": f"2026-11-2{n % 10}T10:00:00.000Z",
        **extra,
    }


def _envelope(data: Any, status: str = "success") -> dict[str, Any]:
    return {"status": status, "message": f"message {random.random()}", "data": data}


def test_formats_are_inferred_only_when_every_sample_has_them() -> None:
    schema = infer_body_schema(
        [
            {"id": U1, "at": "2026-11-24T10:00:00.000Z", "mixed": U1, "name": "x"},
            {"id": U2, "at": "2026-11-24T10:00:00+01:00", "mixed": "not-a-uuid", "name": U2},
        ]
    )
    props = schema["properties"]
    assert props["id"] == {"type": "string", "format": "uuid"}
    assert props["at"] == {"type": "string", "format": "date-time"}
    assert props["mixed"] == {"type": "string"}
    assert props["name"] == {"type": "string"}


def test_required_is_what_every_sample_has_and_null_makes_nullable() -> None:
    schema = infer_body_schema(
        [{"a": 1, "b": None, "c": {"x": 1}}, {"a": 2, "b": U1, "c": None, "d": True}]
    )
    assert schema["required"] == ["a", "b", "c"]
    assert schema["properties"]["b"] == {"type": ["null", "string"], "format": "uuid"}
    c = schema["properties"]["c"]
    assert c["type"] == ["null", "object"] and c["properties"] == {"x": {"type": "integer"}}
    assert "anyOf" not in json.dumps(schema)  # flattened: readable validation errors
    assert schema["properties"]["a"] == {"type": "integer"}


def test_sometimes_empty_lists_get_item_schemas_from_the_others() -> None:
    schema = infer_body_schema(
        [
            _envelope({"items": []}),
            _envelope({"items": [_moc(1), _moc(2)]}),
            _envelope({"items": []}),
        ]
    )
    items = schema["properties"]["data"]["properties"]["items"]
    assert items["type"] == "array"
    assert set(items["items"]["required"]) == {"id", "title", "pieceCount", "createdAt"}


def test_only_declared_fields_become_enums() -> None:
    samples = [_envelope(_moc(n)) for n in range(5)]
    schema = infer_body_schema(samples, EndpointRules(enums=("status",)))
    assert schema["properties"]["status"] == {"type": "string", "enum": ["success"]}
    text = json.dumps(schema)
    for learned in ("MOC 1", U1, "2026-11-2", "message "):
        assert learned not in text  # no ids, titles, times or messages
    errors = infer_body_schema(
        [{"status": "error", "error": {"code": "NOT_FOUND"}}],
        EndpointRules(enums=("status", "error.code")),
    )
    assert errors["properties"]["error"]["properties"]["code"]["enum"] == ["NOT_FOUND"]


def test_maps_get_one_value_schema() -> None:
    samples = [
        _envelope({"byTheme": {"Castle": 2, "Space": 1}}),
        _envelope({"byTheme": {"City": 4}}),
    ]
    schema = infer_body_schema(samples, EndpointRules(maps=("data.byTheme",)))
    by_theme = schema["properties"]["data"]["properties"]["byTheme"]
    assert by_theme == {"type": "object", "additionalProperties": {"type": "integer"}}


def test_additional_properties_follow_the_catalog() -> None:
    sample = [_envelope(_moc(1))]
    closed = infer_body_schema(sample, EndpointRules(additional_properties=False))
    assert closed["additionalProperties"] is False
    assert closed["properties"]["data"]["additionalProperties"] is False
    opened = infer_body_schema(sample)
    assert opened["properties"]["data"]["additionalProperties"] is True


def test_the_result_does_not_depend_on_sample_order() -> None:
    samples: list[Any] = [
        _envelope({"items": [_moc(n, files=[] if n % 3 else [{"id": U1}])]}) for n in range(12)
    ]
    samples += [_envelope(None), _envelope("text"), _envelope([1, "a"])]
    first = dump_schema(infer_body_schema(samples))
    for seed in range(5):
        random.Random(seed).shuffle(samples)
        assert dump_schema(infer_body_schema(samples)) == first


def _write(path: Path, records: list[Recorded]) -> None:
    with CassetteWriter(path) as writer:
        for record in records:
            writer.write(record)


def _rec(status: int, body: Any, **kw: Any) -> Recorded:
    base: dict[str, Any] = {
        "backend": "express",
        "method": "GET",
        "route": "/api/mocs/{mocId}",
        "status": status,
        "endpoint": "mocs.get",
        "scenario": "existing",
        "expected": [status],
        "response": {"headers": {}, "json": body, "text": None},
    }
    base.update(kw)
    return Recorded(**base)


def test_build_contracts_writes_one_stable_file_per_endpoint_and_status(tmp_path: Path) -> None:
    cassettes, out = tmp_path / "cassettes", tmp_path / "schemas"
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    _write(
        cassettes / "express.jsonl",
        [
            _rec(200, _envelope(_moc(1))),
            _rec(200, _envelope(_moc(2)), scenario="with-file"),
            _rec(
                404,
                {
                    "status": "error",
                    "message": "MOC not found",
                    "data": None,
                    "error": {"code": "NOT_FOUND"},
                },
                scenario="unknown-id",
            ),
            _rec(200, {"other": 1}, backend="serverless"),  # not the reference backend
            _rec(500, {"boom": 1}, expected=[200]),  # a status the catalog does not expect
            _rec(200, None, response={"headers": {}, "json": None, "text": "<html>"}),
        ],
    )
    report = build_contracts(cassettes, out, catalog=catalog)
    assert sorted(p.relative_to(out).as_posix() for p in report.written) == [
        "GET_api_mocs_{mocId}/200.json",
        "GET_api_mocs_{mocId}/404.json",
    ]
    assert sum(report.skipped.values()) == 3
    doc = json.loads(contract_path(out, "GET", "/api/mocs/{mocId}", 200).read_text())
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["title"] == "GET /api/mocs/{mocId} -> 200"
    assert doc["x-parity"] == {
        "cassettes": ["express.jsonl"],
        "endpoint": "mocs.get",
        "method": "GET",
        "route": "/api/mocs/{mocId}",
        "samples": 2,
        "scenarios": ["mocs.get/existing", "mocs.get/with-file"],
        "status": 200,
    }
    error = json.loads(contract_path(out, "GET", "/api/mocs/{mocId}", 404).read_text())
    assert error["properties"]["error"]["properties"]["code"]["enum"] == ["NOT_FOUND"]

    before = {p: p.read_bytes() for p in out.rglob("*.json")}
    again = build_contracts(cassettes, out, catalog=catalog)
    assert not again.changed and len(again.unchanged) == 2
    assert {p: p.read_bytes() for p in out.rglob("*.json")} == before

    _write(cassettes / "express.jsonl", [_rec(200, _envelope(_moc(3)))])
    third = build_contracts(cassettes, out, catalog=catalog, write=False)
    assert [p.name for p in third.removed] == ["404.json"] and third.changed
    assert contract_path(out, "GET", "/api/mocs/{mocId}", 404).exists()  # --check: untouched
    build_contracts(cassettes, out, catalog=catalog)
    assert not (out / "GET_api_mocs_{mocId}" / "404.json").exists()


def test_no_cassettes_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="parity capture"):
        build_contracts(tmp_path, tmp_path / "out")


def test_contract_names_are_flat_and_readable() -> None:
    assert contract_dir_name("GET", "/api/mocs/{mocId}") == "GET_api_mocs_{mocId}"
    assert contract_dir_name("get", "/health") == "GET_health"


# --- the committed contracts --------------------------------------------------------------


def test_every_committed_schema_is_a_valid_2020_12_schema_and_byte_stable() -> None:
    paths = sorted(CONTRACTS.glob("*/*.json"))
    assert paths, "contracts/schemas is empty: run `parity capture && parity contracts`"
    for path in paths:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
        Draft202012Validator.check_schema(doc)
        assert text == dump_schema(doc), f"{path} is not in the canonical layout"
        assert doc["x-parity"]["samples"] >= 1


def test_the_committed_contracts_cover_every_status_the_catalog_exercises() -> None:
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    missing = [
        f"{case.id}: {case.endpoint.key} -> {status}"
        for case in catalog.cases()
        for status in case.scenario.expect
        if not contract_path(CONTRACTS, case.endpoint.method, case.endpoint.route, status).exists()
    ]
    assert not missing, (
        "no contract for:\n" + "\n".join(missing) + ("\nrun `parity capture && parity contracts`")
    )


def test_committed_contracts_match_the_committed_cassettes(tmp_path: Path) -> None:
    # `parity contracts --check`: regenerating from fixtures/cassettes changes nothing
    cassettes = ROOT / "fixtures" / "cassettes"
    if not any(cassettes.glob("*.jsonl")):
        pytest.skip("no committed cassettes")
    report = build_contracts(
        cassettes, CONTRACTS, catalog=load_catalog(ROOT / "fixtures" / "catalog.yaml"), write=False
    )
    assert not report.changed, (report.written, report.removed)
