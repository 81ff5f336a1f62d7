"""envelope.py: the API's envelope is catalog data; the catalog-scenario check judges an
answer by it (one difference per failed condition), and by the status alone when the
catalog declares no envelope."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from api_checks.test_catalog_scenarios import _findings, _verdict
from parity.core.catalog import Catalog, load_catalog
from parity.core.envelope import Envelope, envelope_problems, judge, text_paths
from parity.core.errors import CatalogError
from parity.engine.runner import Exchange

ROOT = Path(__file__).resolve().parents[2]
BARE = """\
version: 1
roles: [anonymous]
endpoints:
  - id: ping
    method: GET
    route: /ping
    scenarios: [{name: default, expect: 200}]
"""


@pytest.fixture(scope="module")
def moc() -> Envelope:
    envelope = load_catalog(ROOT / "fixtures" / "catalog.yaml").envelope
    assert envelope is not None
    return envelope


def _catalog(tmp_path: Path, extra: str) -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(BARE + textwrap.dedent(extra), encoding="utf-8")
    return load_catalog(path)


def _exchange(status: int, body: Any, expected: tuple[int, ...] = (200,)) -> Exchange:
    return Exchange(
        backend="express", endpoint="ping", scenario="default", role="anonymous",
        method="GET", route="/ping", url="http://127.0.0.1:1/ping", request_headers={},
        request_body=None, status=status, headers={}, json=body, expected=expected,
    )  # fmt: skip


def test_a_catalog_without_envelope_judges_the_status_only(tmp_path: Path) -> None:
    for extra in ("", "envelope: none\n", "envelope: null\n"):
        assert _catalog(tmp_path, extra).envelope is None
    # a body that is no envelope at all (json-server's bare objects) is not a finding...
    right = _exchange(200, [{"id": 1}])
    found, judgement = _findings(right, "serverless", None)
    assert found == [] and not judgement.gateway
    assert _verdict(right, None, judgement) == "status only: the catalog declares no envelope"
    # ...the status still is, and only the status
    wrong = _exchange(404, {"message": "whatever"})
    found, _ = _findings(wrong, "serverless", None)
    assert [(d.path, d.kind, d.actual) for d in found] == [("status", "status", 404)]
    assert envelope_problems(None, 500, "anything") == []


def test_an_envelope_mismatch_is_one_difference_per_failed_condition(moc: Envelope) -> None:
    body = {"status": "ok", "message": 7, "data": {}}
    found, judgement = _findings(_exchange(200, body), "express", moc)
    assert judgement.origin == "application"
    by_path = {d.path: (d.kind, d.expected, d.actual, d.severity) for d in found}
    assert by_path == {
        "status": ("value", "success", "ok", "breaking"),
        "message": ("type", "string", "integer", "breaking"),
    }
    assert any('status is "ok" on a 200' in d.note for d in found)
    # an error without its parts: each missing part named, data must be null
    found, _ = _findings(_exchange(400, {"status": "error", "data": []}, (400,)), "express", moc)
    assert {(d.path, d.kind) for d in found} == {
        ("message", "removed"),
        ("data", "value"),
        ("error.code", "removed"),
    }
    assert envelope_problems(moc, 400, {"status": "error", "message": "m", "data": None,
                                        "error": {"code": ""}}) == [
        'error.code is "": an error without its code'
    ]  # fmt: skip
    assert envelope_problems(moc, 200, "OK") == ['the body is "OK", not the success envelope']


def test_the_right_envelope_passes(moc: Envelope) -> None:
    assert judge(moc, 200, {"status": "success", "message": "ok", "data": None}).problems == []
    error = {"status": "error", "message": "no", "data": None, "error": {"code": "NOT_FOUND"}}
    assert judge(moc, 404, error, "express").problems == []


def test_the_gateway_is_whom_and_what_the_catalog_says(moc: Envelope) -> None:
    gateway = {"message": "Not Found"}
    allowed = judge(moc, 404, gateway, "serverless")
    assert allowed.gateway and allowed.problems == [] and allowed.origin == "gateway"
    (problem,) = judge(moc, 404, gateway, "express").problems
    assert problem.path == "$" and "gateway-shaped" in problem.note and "express" in problem.note
    assert judge(moc, 200, gateway, "serverless").problems  # not a status it answers itself
    # an application 404 without its envelope is not the gateway: its text is not one of
    # the gateway's (the sandbox's error-shape drift)
    dropped = judge(moc, 404, {"message": "MOC not found"}, "serverless")
    assert not dropped.gateway
    assert {p.path for p in dropped.problems} == {"status", "data", "error.code"}
    assert text_paths(moc) == ("message",)


def test_an_envelope_of_other_keys_is_judged_by_those(tmp_path: Path) -> None:
    catalog = _catalog(
        tmp_path,
        """\
        envelope:
          success: {present: [result], types: {result: object}}
          error: {message: error.detail, code: error.type}
        """,
    )
    envelope = catalog.envelope
    assert envelope is not None and envelope.gateway is None
    assert judge(envelope, 200, {"result": {}}).problems == []
    assert [p.note for p in judge(envelope, 200, {"result": []}).problems] == [
        "result is [], not an object"
    ]
    assert envelope_problems(envelope, 422, {"error": {"detail": "bad", "type": "invalid"}}) == []
    # the MOC gateway's shape is nothing here: no gateway declared
    assert {p.path for p in judge(envelope, 404, {"message": "Not Found"}).problems} == {
        "error.detail",
        "error.type",
    }
    assert text_paths(envelope) == ("error.detail",)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("envelope:\n  success: {presnt: [status]}\n",
         "field envelope.success: unknown key 'presnt'. Did you mean 'present'?"),
        ("envelope:\n  error: {code: 'x['}\n", "field envelope.error.code: malformed JSON path"),
        ("envelope:\n  success: {types: {a: text}}\n", "field envelope.success.types.a: Input"),
        ("envelope:\n  gateway: {backends: [serverless]}\n",
         "field envelope.gateway: missing required field 'keys'"),
        ("envelope:\n  gateway: {keys: [message], messages: [Not Found]}\n",
         "messages need message"),
    ],
)  # fmt: skip
def test_a_bad_envelope_is_one_line_naming_the_field(
    tmp_path: Path, extra: str, needle: str
) -> None:
    with pytest.raises(CatalogError) as info:
        _catalog(tmp_path, extra)
    text = str(info.value)
    assert needle in text, text
    assert "line 9" in text.splitlines()[0]
