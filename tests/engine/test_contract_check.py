"""contracts.py: readable failures (endpoint, status, JSON path, expected, actual), formats
really checked, gateway-originated answers recognised, schema files checked on load."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from parity.core.catalog import load_catalog
from parity.core.errors import ContractError, UsageError
from parity.engine.baseline import Baseline, Entry
from parity.engine.cassette import CassetteWriter, Recorded
from parity.engine.contracts import ContractStore, body_shape, check_response, load_contract
from parity.engine.infer import build_contracts

ROOT = Path(__file__).resolve().parents[2]
#: The sandbox catalog's gateway (envelope.gateway): the contract checks have none of their own.
GATEWAY = load_catalog(ROOT / "fixtures" / "catalog.yaml").envelope.gateway  # type: ignore[union-attr]
ROUTE = "/api/mocs/{mocId}"
U1 = "3f2a8c1e-1111-4c6e-9a55-2f7d0c1e9b10"


def _moc(**changes: Any) -> dict[str, Any]:
    moc = {
        "id": U1,
        "title": "Castle",
        "pieceCount": 1450,
        "albumId": None,
        "createdAt": "2026-11-24T10:00:00.000Z",
        "files": [{"id": U1, "size": 3}],
    }
    moc.update(changes)
    return {k: v for k, v in moc.items() if v != "<absent>"}


def _ok(data: Any) -> dict[str, Any]:
    return {"status": "success", "message": "MOC retrieved", "data": data}


NOT_FOUND = {
    "status": "error",
    "message": "MOC not found",
    "data": None,
    "error": {"code": "NOT_FOUND"},
}
UNAUTHORIZED = {
    "status": "error",
    "message": "Unauthorized",
    "data": None,
    "error": {"code": "UNAUTHORIZED"},
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ContractStore:
    tmp = tmp_path_factory.mktemp("contracts")
    records = [
        (200, _ok(_moc())),
        (200, _ok(_moc(albumId=U1, files=[]))),
        (404, NOT_FOUND),
        (401, UNAUTHORIZED),
    ]
    with CassetteWriter(tmp / "cassettes" / "express.jsonl") as writer:
        for status, body in records:
            writer.write(
                Recorded(
                    backend="express",
                    method="GET",
                    route=ROUTE,
                    status=status,
                    endpoint="mocs.get",
                    scenario="s",
                    expected=[status],
                    response={"headers": {}, "json": body, "text": None},
                )
            )
    build_contracts(
        tmp / "cassettes", tmp / "schemas", catalog=load_catalog(ROOT / "fixtures" / "catalog.yaml")
    )
    return ContractStore(tmp / "schemas")


def _check(
    store: ContractStore, body: Any, status: int = 200, backend: str = "serverless", **kw: Any
) -> Any:
    kw.setdefault("gateway", GATEWAY)
    return check_response(
        store,
        method="GET",
        route=ROUTE,
        status=status,
        body=body,
        backend=backend,
        scenario="existing",
        **kw,
    )


def test_a_conforming_answer_passes(store: ContractStore) -> None:
    outcome = _check(store, _ok(_moc(title="Another", pieceCount=3, files=[])))
    assert outcome.state == "pass" and not outcome.failed and not outcome.violations
    result = outcome.to_result()
    assert (result.check, result.state, result.endpoint) == ("contract", "pass", f"GET {ROUTE}")


def test_a_renamed_field_names_both_spellings(store: ContractStore) -> None:
    moc = _moc(pieceCount="<absent>")
    moc["piece_count"] = 1450
    outcome = _check(store, _ok(moc))
    assert outcome.failed and outcome.origin == "application" and outcome.severity == "breaking"
    block = outcome.block()
    assert block.splitlines()[0] == f"contract: GET {ROUTE} -> 200 on serverless [existing]: drift"
    assert "  data.pieceCount: missing" in block
    assert "expected: present (a required field)" in block
    assert "unexpected 'piece_count': renamed?" in block
    assert outcome.to_result().summary.startswith("data.pieceCount: missing")


def test_a_changed_type_shows_expected_and_actual(store: ContractStore) -> None:
    block = _check(store, _ok(_moc(pieceCount="1450"))).block()
    assert "data.pieceCount: wrong type" in block
    assert "expected: integer" in block and 'actual:   "1450" (string)' in block


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1732442400000, "wrong type"),  # epoch millis
        ("24/11/2026 10:00", "wrong format"),
        ("2026-13-45T10:00:00Z", "wrong format"),  # the right shape, not a moment
    ],
)
def test_date_time_is_really_checked(store: ContractStore, value: Any, problem: str) -> None:
    outcome = _check(store, _ok(_moc(createdAt=value)))
    assert [(v.path, v.problem) for v in outcome.violations] == [("data.createdAt", problem)]


def test_uuid_is_really_checked(store: ContractStore) -> None:
    outcome = _check(store, _ok(_moc(id="42")))
    assert [(v.path, v.problem, v.expected) for v in outcome.violations] == [
        ("data.id", "wrong format", "a uuid string")
    ]


def test_null_versus_absent(store: ContractStore) -> None:
    assert _check(store, _ok(_moc(albumId=U1))).state == "pass"  # nullable: both fine
    outcome = _check(store, _ok(_moc(albumId="<absent>")))
    assert [(v.path, v.problem) for v in outcome.violations] == [("data.albumId", "missing")]


def test_list_elements_with_the_same_problem_are_grouped(store: ContractStore) -> None:
    files = [{"id": U1, "size": "3"} for _ in range(4)]
    outcome = _check(store, _ok(_moc(files=files)))
    assert len(outcome.violations) == 1
    assert "data.files[*].size: wrong type (4 elements)" in outcome.block()


def test_the_status_enum(store: ContractStore) -> None:
    body = _ok(_moc())
    body["status"] = "ok"
    outcome = _check(store, body)
    assert [(v.path, v.expected) for v in outcome.violations] == [("status", 'one of "success"')]


def test_an_error_without_its_envelope_is_an_application_drift(store: ContractStore) -> None:
    outcome = _check(store, {"message": "MOC not found"}, status=404)
    assert outcome.state == "drift" and outcome.origin == "application"
    assert outcome.shape == "message-only"
    block = outcome.block()
    assert "answered without its envelope" in block
    assert {v.path for v in outcome.violations} == {"status", "data", "error"}


def test_a_gateway_answer_is_reported_as_gateway_originated(store: ContractStore) -> None:
    outcome = _check(store, {"message": "Unauthorized"}, status=401)
    assert outcome.state == "drift" and outcome.origin == "gateway"
    block = outcome.block()
    assert "origin: gateway" in block and "gateway-originated" in block
    result = outcome.to_result()
    assert result.origin == "gateway" and result.state == "drift"
    # the same body from Express is the application's doing
    assert _check(store, {"message": "Unauthorized"}, status=401, backend="express").origin == (
        "application"
    )


def test_the_baseline_can_accept_a_gateway_answer(store: ContractStore) -> None:
    entry = Entry(
        id="authorizer-401-contract",
        endpoint="* /api/*",
        check="contract",
        path="$",
        reason="r",
        expires=date(2099, 1, 1),
        origin="gateway",
        status=401,
    )
    outcome = _check(store, {"message": "Unauthorized"}, status=401)
    outcome.apply_baseline(Baseline([entry]))
    assert outcome.state == "accepted" and not outcome.failed
    assert outcome.to_result().evidence["baseline"] == ["authorizer-401-contract"]
    expired = _check(store, {"message": "Unauthorized"}, status=401)
    expired.apply_baseline(Baseline([entry]), today=date(2100, 1, 1))
    assert expired.failed and "expired on 2099-01-01" in expired.block()
    # an application drift is not accepted by a gateway entry
    app = _check(store, _ok(_moc(pieceCount="1")))
    app.apply_baseline(Baseline([entry]))
    assert app.failed


def test_a_gateway_answer_for_a_status_without_contract(store: ContractStore) -> None:
    outcome = _check(store, {"message": "Not Found"}, status=404, backend="serverless")
    assert outcome.origin == "gateway"  # 404 has a contract, but the shape is the gateway's
    outcome = _check(store, {"message": "Internal Server Error"}, status=500)
    assert outcome.state == "drift" and outcome.origin == "gateway"
    assert "status 200, 401, 404" in outcome.block()


def test_without_a_declared_gateway_no_answer_is_the_gateway_s(store: ContractStore) -> None:
    """An API without a gateway (json-server, httpbin): ``{"message": "Not Found"}`` is the
    application's answer, whatever its text."""
    outcome = _check(store, {"message": "Not Found"}, status=404, gateway=None)
    assert outcome.state == "drift" and outcome.origin == "application"
    assert outcome.shape == "other" and "gateway" not in outcome.block()
    assert body_shape({"message": "Unauthorized"}) == "other"


def test_a_missing_contract_is_an_error_with_the_fix(store: ContractStore) -> None:
    outcome = check_response(
        store,
        method="GET",
        route="/api/other",
        status=200,
        body={"a": 1},
        backend="express",
        expected=[200],
    )
    assert outcome.state == "error" and outcome.failed
    assert "parity capture && parity contracts" in outcome.block()
    unexpected = _check(store, NOT_FOUND, status=409, expected=[200])
    assert unexpected.state == "drift" and "never 409" in unexpected.block()


def test_a_body_that_is_not_json(store: ContractStore) -> None:
    outcome = _check(store, None, is_json=False, text="<html>oops</html>")
    assert outcome.failed and outcome.violations[0].problem == "not JSON"
    assert body_shape(None, is_json=False) == "not-json"


def test_evidence_is_redacted(store: ContractStore) -> None:
    body = _ok(_moc(title="mail bob@example.com"))
    body["data"]["token"] = "opaque-secret"
    evidence = _check(store, body, url="http://x/a?token=abc123").to_result().evidence
    text = json.dumps(evidence)
    assert "bob@example.com" not in text and "opaque-secret" not in text
    assert "abc123" not in text


def test_a_schema_that_is_not_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "GET_x" / "200.json"
    path.parent.mkdir()
    path.write_text('{\n  "type": "object",\n  "properties": {\n    "a": {"type": }\n  }\n}\n')
    with pytest.raises(ContractError) as info:
        ContractStore(tmp_path).check_all()
    assert str(info.value).startswith(f"{path}: line 4, column 19: not valid JSON")
    assert isinstance(info.value, UsageError)


def test_a_schema_that_is_not_a_valid_schema_names_the_place(tmp_path: Path) -> None:
    path = tmp_path / "200.json"
    path.write_text(json.dumps({"properties": {"a": {"type": "integr"}}}))
    with pytest.raises(ContractError, match=r"200.json: properties.a.type: not a valid draft"):
        load_contract(path)
