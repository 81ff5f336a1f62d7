"""parity.checks.verdicts, parity.checks.cors, parity.engine.tokens, parity.checks.sweeps and
the catalog's checks: section: error judgement, baseline acceptance, CORS evaluation, bad
tokens, sweeps."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from parity.checks.cors import check_actual, check_preflight, preflight_headers, tokens
from parity.checks.sweeps import authenticated, happy_path, owner_only, varied, with_params
from parity.checks.verdicts import conclude, judge_error, record
from parity.core.catalog import load_catalog
from parity.core.checkspec import CorsChecks, Envelope
from parity.core.config import Settings
from parity.core.errors import CatalogError
from parity.engine.baseline import Baseline, Entry
from parity.engine.client import BackendClient
from parity.engine.diff import Answer, Difference
from parity.engine.tokens import bad_token, resign

ROOT = Path(__file__).resolve().parents[2]
#: The sandbox catalog's gateway (its envelope.gateway): the judges have none of their own.
_SANDBOX = load_catalog(ROOT / "fixtures" / "catalog.yaml").envelope
assert _SANDBOX is not None and _SANDBOX.gateway is not None
GATEWAY = _SANDBOX.gateway
ENVELOPE = Envelope(
    code="error.code",
    details="error.details",
    message="message",
    codes={401: "UNAUTHORIZED", 403: "FORBIDDEN", 400: "VALIDATION_ERROR"},
)


def _env(code: str, message: str = "Unauthorized", details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code}
    if details is not None:
        error["details"] = details
    return {"status": "error", "message": message, "data": None, "error": error}


# --- error answers -----------------------------------------------------------------------


def test_gateway_shape_from_serverless_is_documented_not_a_drift() -> None:
    ref = Answer(401, {}, _env("UNAUTHORIZED"))
    got = Answer(401, {}, {"message": "Unauthorized"})
    verdict = judge_error(
        "serverless", got, 401, ENVELOPE, reference=("express", ref), gateway_shape=GATEWAY
    )
    assert verdict.diffs == [] and verdict.gateway
    assert "gateway-originated" in verdict.note


def test_gateway_shape_from_express_is_a_drift() -> None:
    got = Answer(401, {}, {"message": "Unauthorized"})
    verdict = judge_error("express", got, 401, ENVELOPE, gateway_shape=GATEWAY)
    assert [d.path for d in verdict.diffs] == ["$"]
    assert "not behind a gateway" in verdict.diffs[0].note
    # a status the declared gateway does not answer with
    teapot = Answer(418, {}, {"message": "Unauthorized"})
    [status, body] = judge_error("serverless", teapot, 401, ENVELOPE, gateway_shape=GATEWAY).diffs
    assert status.path == "status" and "envelope.gateway.statuses" in body.note


def test_without_a_declared_gateway_no_answer_is_the_gateway_s() -> None:
    """An API without a gateway (json-server, httpbin): an Express-style ``{"message":
    "Not Found"}`` from the reference is the application's answer, its origin application."""
    ref = Answer(404, {}, {"message": "Not Found"})
    got = Answer(404, {}, _env("NOT_FOUND", "Not Found"))
    verdict = judge_error("express", ref, 404, ENVELOPE)
    assert not verdict.gateway and "gateway" not in verdict.note
    assert {d.origin for d in verdict.diffs} == {"application"}
    bare = Answer(401, {}, {})
    other = judge_error("serverless", bare, 404, ENVELOPE, reference=("express", ref))
    assert not other.gateway and {d.origin for d in other.diffs} == {"application"}
    assert judge_error("serverless", got, 404, ENVELOPE, reference=("express", ref)).diffs


def test_status_code_and_details_are_compared() -> None:
    ref = Answer(400, {}, _env("VALIDATION_ERROR", "Invalid", [{"field": "a", "issue": "x"}]))
    same = Answer(400, {}, _env("VALIDATION_ERROR", "Invalid", [{"field": "a", "issue": "x"}]))
    assert judge_error("serverless", same, 400, ENVELOPE, reference=("express", ref)).diffs == []
    other = Answer(400, {}, _env("VALIDATION_ERROR", "Bad input", [{"field": "b", "issue": "x"}]))
    diffs = judge_error("serverless", other, 400, ENVELOPE, reference=("express", ref)).diffs
    assert {d.path: d.severity for d in diffs} == {
        "error.details": "breaking",
        "message": "cosmetic",
    }
    wrong = judge_error("serverless", Answer(200, {}, {"status": "success"}), 403, ENVELOPE)
    assert wrong.diffs[0].path == "status" and wrong.diffs[0].origin == "application"
    code = judge_error("express", Answer(403, {}, _env("NOT_FOUND")), 403, ENVELOPE)
    assert code.diffs[0].path == "error.code" and code.diffs[0].expected == "FORBIDDEN"
    text = judge_error("express", Answer(403, {}, None, "Forbidden"), 403, ENVELOPE)
    assert text.diffs[0].path == "$"


def _baseline(**kw: Any) -> Baseline:
    entry = Entry(
        id="e1",
        endpoint=kw.get("endpoint", "POST /x"),
        check=kw.get("check", "boundary"),
        path=kw.get("path", "direct.*MiB"),
        reason="because",
        expires=kw.get("expires", date(2999, 1, 1)),
        origin=kw.get("origin"),
    )
    return Baseline([entry])


def _diff(path: str, origin: str = "gateway") -> Difference:
    return Difference(path, "status", 201, 413, "breaking", origin, note=f"{path} refused")  # type: ignore[arg-type]


def test_record_states_and_baseline() -> None:
    ok = record(endpoint="POST /x", check="boundary", diffs=[], baseline=Baseline(), ok="fine")
    assert ok.state == "pass" and ok.summary == "fine"
    nt = record(endpoint="POST /x", check="b", diffs=[], baseline=Baseline(), not_testable="no")
    assert nt.state == "not-testable"
    accepted = record(
        endpoint="POST /x", check="boundary", diffs=[_diff("direct.9MiB")], baseline=_baseline()
    )
    assert accepted.state == "accepted" and accepted.origin == "gateway"
    assert accepted.evidence["baseline"] == ["e1"] and "because" in accepted.summary
    other_path = record(
        endpoint="POST /x",
        check="boundary",
        diffs=[_diff("client-threshold")],
        baseline=_baseline(),
    )
    assert other_path.state == "drift"
    expired = record(
        endpoint="POST /x",
        check="boundary",
        diffs=[_diff("direct.9MiB")],
        baseline=_baseline(expires=date(2000, 1, 1)),
    )
    assert expired.state == "drift"


def test_conclude() -> None:
    ok = record(endpoint="GET /x", check="c", diffs=[], baseline=Baseline())
    conclude([ok])
    nt = record(endpoint="GET /x", check="c", diffs=[], baseline=Baseline(), not_testable="why")
    with pytest.raises(pytest.skip.Exception, match="not-testable: both: why"):
        conclude([ok, nt])
    bad = record(endpoint="GET /x", check="c", diffs=[_diff("p")], baseline=Baseline(), backend="s")
    with pytest.raises(pytest.fail.Exception, match="s GET /x: drift: p refused"):
        conclude([ok, nt, bad])


# --- CORS --------------------------------------------------------------------------------

POLICY = CorsChecks(
    allowed_origins=["https://app.example.com"],
    disallowed_origin="https://evil.example.com",
    methods=["GET", "POST"],
    headers=["Authorization", "Content-Type"],
    max_age=True,
)
GOOD = {
    "Access-Control-Allow-Origin": "https://app.example.com",
    "access-control-allow-methods": "GET,POST,PATCH,DELETE,OPTIONS",
    "access-control-allow-headers": "authorization,content-type",
    "access-control-max-age": "600",
}


def _pre(status: int, headers: dict[str, str], allowed: bool = True, origin: str = "") -> Any:
    return check_preflight(
        status,
        headers,
        origin=origin or ("https://app.example.com" if allowed else "https://evil.example.com"),
        allowed=allowed,
        method="PATCH",
        policy=POLICY,
        where="w",
        finding_origin="gateway",
    )


def test_preflight_rules() -> None:
    assert _pre(204, GOOD) == []
    assert tokens("GET, post") == {"get", "post"}
    lacking = {**GOOD, "access-control-allow-headers": "content-type"}
    [d] = _pre(204, lacking)
    assert d.path == "access-control-allow-headers" and "lacks Authorization" in d.note
    no_patch = {**GOOD, "access-control-allow-methods": "GET,POST"}
    assert "lacks PATCH" in _pre(204, no_patch)[0].note
    assert {d.path for d in _pre(403, {})} == {
        "status",
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-max-age",
    }
    assert _pre(204, {}, allowed=False) == []
    leak = _pre(204, {"Access-Control-Allow-Origin": "*"}, allowed=False)
    assert leak[0].kind == "header-added"
    # "*" covers Content-Type but never Authorization (the Fetch standard)
    wildcard = {**GOOD, "access-control-allow-headers": "*"}
    [d] = _pre(204, wildcard)
    assert "lacks Authorization" in d.note and "Content-Type" not in d.note.split("(")[0]
    assert _pre(204, {**GOOD, "access-control-allow-headers": "*,authorization"}) == []


def test_actual_request_rules() -> None:
    ok = {"access-control-allow-origin": "https://app.example.com"}
    assert (
        check_actual(
            ok, origin="https://app.example.com", allowed=True, where="w", finding_origin="gateway"
        )
        == []
    )
    assert check_actual(
        {}, origin="https://app.example.com", allowed=True, where="w", finding_origin="gateway"
    )
    assert (
        check_actual({}, origin="https://e.com", allowed=False, where="w", finding_origin="gateway")
        == []
    )
    assert check_actual(
        {"access-control-allow-origin": "*"},
        origin="https://e.com",
        allowed=False,
        where="w",
        finding_origin="gateway",
    )
    headers = preflight_headers("https://a.b", "patch", ["Authorization", "Content-Type"])
    assert headers == {
        "Origin": "https://a.b",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type",
    }


# --- tokens ------------------------------------------------------------------------------


def test_resign_keeps_claims_and_kid_but_breaks_the_signature() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    genuine = jwt.encode(
        {"sub": "u1", "token_use": "id"}, key, algorithm="RS256", headers={"kid": "k1"}
    )
    forged = resign(genuine)
    assert forged is not None and forged != genuine
    assert jwt.get_unverified_header(forged)["kid"] == "k1"
    assert jwt.decode(forged, options={"verify_signature": False}) == {
        "sub": "u1",
        "token_use": "id",
    }
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key.public_key(), algorithms=["RS256"])
    assert resign("opaque-token") is None
    hs = jwt.encode({"sub": "u"}, "secret-secret-secret-secret-secret", algorithm="HS256")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(resign(hs) or "", "secret-secret-secret-secret-secret", algorithms=["HS256"])


def test_bad_token_variants() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    genuine = jwt.encode({"sub": "u1"}, key, algorithm="RS256", headers={"kid": "k"})
    env = {
        "PARITY_SERVERLESS_AUTH_MODE": "static",
        "PARITY_TOKEN_ALICE": genuine,
        "PARITY_EXPIRED_TOKEN_ALICE": "expired.jwt.token",
    }
    settings = Settings.load(environ=env, overrides={"serverless_url": "http://s.test"})
    from parity.engine.auth import provider_for

    client = BackendClient("serverless", "http://s.test", provider_for(settings, "serverless"))
    assert bad_token("missing", client, settings, "alice").headers == {}
    assert bad_token("malformed", client, settings, "alice").headers == {
        "Authorization": "Bearer not-a-jwt"
    }
    forged = bad_token("wrong-signature", client, settings, "alice").headers
    assert (
        forged
        and forged["Authorization"].startswith("Bearer ")
        and genuine not in forged["Authorization"]
    )
    assert bad_token("expired", client, settings, "alice").headers == {
        "Authorization": "Bearer expired.jwt.token"
    }
    missing = bad_token("expired", client, settings, "bob")
    assert not missing.testable and "PARITY_EXPIRED_TOKEN_BOB" in missing.reason
    with pytest.raises(ValueError):
        bad_token("nope", client, settings, "alice")


# --- sweeps and the catalog's checks: section ---------------------------------------------


def test_sweeps_follow_the_catalog() -> None:
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    owners = owner_only(catalog)
    assert {t.endpoint.auth for t in owners} == {"owner", "owner-or-admin"}
    assert len(owners) == sum(1 for e in catalog.endpoints if e.auth in ("owner", "owner-or-admin"))
    assert all(t.scenario is not None for t in authenticated(catalog))
    update = catalog.get("mocs.update")
    scenario = happy_path(update)
    assert scenario is not None and scenario.name == "owner"
    bob = varied(
        scenario, role="bob", headers={"authorization": "x"}, drop_headers=("Authorization",)
    )
    assert bob.role == "bob" and bob.headers == {"authorization": "x"} and scenario.role == "alice"
    unknown = with_params(update, scenario, "0000")
    assert unknown.params == {"mocId": "0000"}


def test_checks_section_cross_references_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        textwrap.dedent(
            """
            version: 1
            roles: [alice]
            endpoints:
              - {id: up, method: POST, route: /up, scenarios: [{name: x, expect: 201}]}
            checks:
              boundary:
                plan_direct_limit: 10MiB
                direct: {endpoint: upload}
            """
        )
    )
    with pytest.raises(
        CatalogError, match=r"checks.boundary.direct.endpoint.*unknown endpoint id 'upload'"
    ):
        load_catalog(path)
    path.write_text(path.read_text().replace("endpoint: upload", "endpoint: up, fileds: {}"))
    with pytest.raises(CatalogError, match=r"unknown key 'fileds'.*Did you mean 'fields'"):
        load_catalog(path)
    path.write_text(
        path.read_text().replace("endpoint: up, fileds: {}", "endpoint: up").replace("10MiB", "ten")
    )
    with pytest.raises(CatalogError, match="invalid size"):
        load_catalog(path)
