"""The errors, CORS and coverage families read every convention from the catalog:
``checks.errors`` (an API without error codes, without an envelope, unknown values per
route parameter), ``checks.cors`` (any origin, credentials, no disallowed origin, the two
backends compared even where both satisfy the policy) and ``checks.coverage`` (a listing
endpoint or an OpenAPI document as the source of routes)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.checks.cors import (
    CorsAnswer,
    check_actual,
    check_preflight,
    compare_cors,
    preflight_not_applicable,
)
from parity.checks.errors_check import body_shape, judge_error
from parity.checks.route_source import (
    RouteSourceError,
    RouteSourceUnavailable,
    listing_routes,
    read_routes,
)
from parity.core.catalog import Catalog, load_catalog
from parity.core.checkspec import CorsChecks, Envelope, RouteListing
from parity.core.envelope import Gateway
from parity.core.errors import CatalogError
from parity.engine.diff import Answer

ROOT = Path(__file__).resolve().parents[2]

BASE = """
version: 1
roles: [alice]
endpoints:
  - id: users.get
    method: GET
    route: "/users/{userId}"
    scenarios: [{name: x, params: {userId: "1"}, expect: 200}]
  - {id: users.list, method: GET, route: /users, scenarios: [{name: x, expect: 200}]}
  - id: posts.get
    method: GET
    route: "/users/{userId}/posts/{postId}"
    scenarios: [{name: x, params: {userId: "1", postId: "2"}, expect: 200}]
checks:
"""


def _catalog(tmp_path: Path, checks: str) -> Catalog:
    path = tmp_path / "catalog.yaml"
    path.write_text(BASE + textwrap.indent(textwrap.dedent(checks), "  "), encoding="utf-8")
    return load_catalog(path)


def _fails(tmp_path: Path, checks: str, *needles: str) -> str:
    with pytest.raises(CatalogError) as info:
        _catalog(tmp_path, checks)
    text = str(info.value)
    assert "\n" not in text and "catalog.yaml" in text, text
    for needle in needles:
        assert needle in text, text
    return text


# --- errors: the catalog's conventions ------------------------------------------------------


def test_an_api_without_error_codes(tmp_path: Path) -> None:
    catalog = _catalog(
        tmp_path,
        """
        errors:
          envelope: {code: null, message: error}
          validation_status: 422
          unknown_ids: {userId: 999999, default: nope}
        """,
    )
    spec = catalog.checks.errors
    assert spec is not None and spec.envelope.code is None and spec.envelope.declared
    assert spec.validation_status == [422] and spec.not_found_status == 404
    assert spec.unknown_value("userId") == "999999" and spec.unknown_value("postId") == "nope"
    # no code anywhere: the message's place is all that is asserted and compared
    ok = Answer(404, {"content-type": "application/json"}, {"error": "Not found"})
    assert judge_error("express", ok, 404, spec.envelope).diffs == []
    other = Answer(404, {"content-type": "application/json"}, {"error": "No such user"})
    [diff] = judge_error("serverless", other, 404, spec.envelope, reference=("express", ok)).diffs
    assert (diff.path, diff.severity) == ("error", "cosmetic")
    [bare] = judge_error("serverless", Answer(404, {}, {}), 404, spec.envelope).diffs
    assert "without error" in bare.note
    # codes need a place to live in
    _fails(tmp_path, "errors: {envelope: {code: null, codes: {404: NOT_FOUND}}}", "codes:")


def test_unknown_ids_per_parameter_and_the_old_spelling(tmp_path: Path) -> None:
    old = _catalog(tmp_path, "errors: {unknown_id: 00000000-0000-4000-8000-000000000000}")
    assert old.checks.errors is not None
    assert old.checks.errors.unknown_value("postId") == "00000000-0000-4000-8000-000000000000"
    none = _catalog(tmp_path, "errors: {unknown_ids: {userId: '0'}}")
    assert none.checks.errors is not None and none.checks.errors.unknown_value("postId") is None
    _fails(
        tmp_path,
        "errors: {unknown_ids: {userid: '0'}}",
        "checks.errors.unknown_ids",
        "no route has a parameter 'userid'",
        "postId, userId",
    )
    _fails(tmp_path, "errors: {unknown_id: a, unknown_ids: {default: b}}", "both given")
    # an endpoint whose unknown ids answer otherwise (a nested list: 200 and [])
    nested = _catalog(tmp_path, "errors: {unknown_id_status: {posts.get: 200}}")
    assert nested.checks.errors is not None
    assert nested.checks.errors.unknown_id_status == {"posts.get": 200}
    ok = Answer(200, {"content-type": "application/json"}, [])
    env = Envelope(code="error.code", codes={404: "NOT_FOUND"})
    assert judge_error("express", ok, 200, env).diffs == []  # no error envelope on a 200
    _fails(
        tmp_path,
        "errors: {unknown_id_status: {post.get: 200}}",
        "checks.errors.unknown_id_status.post.get",
        "unknown endpoint id 'post.get'",
    )
    _fails(tmp_path, "errors: {unknown_idz: a}", "unknown key 'unknown_idz'", "Did you mean")
    _fails(tmp_path, "errors: {validation_status: 42}", "validation_status")
    _fails(tmp_path, "errors: {envelope: {code: 'error..code'}}", "checks.errors.envelope")


def test_without_an_envelope_the_backends_answers_are_compared() -> None:
    none = Envelope()
    assert not none.declared
    json_ct = {"content-type": "application/json; charset=utf-8"}
    ref = Answer(404, json_ct, {})
    # one backend alone: only the status is judged, never a shape
    assert judge_error("express", ref, 404, none).diffs == []
    assert judge_error("express", Answer(404, {}, None, "Not Found"), 404, none).diffs == []
    same = Answer(404, {"content-type": "application/json"}, {})
    assert judge_error("serverless", same, 404, none, reference=("express", ref)).diffs == []
    other = Answer(404, {"content-type": "application/json"}, {"error": "not found"})
    [added] = judge_error("serverless", other, 404, none, reference=("express", ref)).diffs
    assert (added.path, added.kind, added.severity) == ("error", "added", "additive")
    text = Answer(404, {"content-type": "text/plain"}, None, "404: Not Found")
    [ct] = judge_error("serverless", text, 404, none, reference=("express", ref)).diffs
    assert ct.path == "content-type" and "application/json" in ct.note
    moved = Answer(400, json_ct, {"errors": [{"field": "name", "msg": "x"}], "n": 1})
    typed = Answer(400, json_ct, {"errors": [{"field": 3, "msg": "y"}], "n": "1"})
    diffs = judge_error("serverless", typed, 400, none, reference=("express", moved)).diffs
    assert {(d.path, d.kind) for d in diffs} == {("errors[*]", "type"), ("n", "type")}
    assert body_shape({"a": [1, 2], "b": None}) == {"a": ["number"], "b": "null"}


def test_the_top_level_envelope_fills_what_checks_errors_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    top = "envelope:\n  error: {message: detail, code: err.kind}\n"
    path.write_text(
        BASE.replace("endpoints:", top + "endpoints:", 1)
        + "  errors: {envelope: {codes: {404: MISSING}, details: err.info}}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    assert catalog.checks.errors is not None
    merged = catalog.checks.errors.conventions(catalog.envelope)
    assert (merged.code, merged.message, merged.details) == ("err.kind", "detail", "err.info")
    # an explicit null is kept: this API's errors have no code, whatever the top level says
    path.write_text(
        BASE.replace("endpoints:", top + "endpoints:", 1) + "  errors: {envelope: {code: null}}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    assert catalog.checks.errors is not None
    assert catalog.checks.errors.conventions(catalog.envelope).code is None
    # codes with no place for the code anywhere
    _fails(tmp_path, "errors: {envelope: {codes: {404: MISSING}}}", "checks.errors.envelope.codes")


def test_a_declared_gateway_answer_is_documented_not_compared() -> None:
    gateway = Gateway(backends=["serverless"], statuses=[404], keys=["message"])
    env = Envelope(code="error.code", message="message", codes={404: "NOT_FOUND"})
    ref = Answer(404, {}, {"message": "no such thing", "error": {"code": "NOT_FOUND"}})
    own = Answer(404, {}, {"message": "Not Found"})
    verdict = judge_error(
        "serverless", own, 404, env, reference=("express", ref), gateway_shape=gateway
    )
    assert verdict.diffs == [] and verdict.gateway
    # from a backend the gateway is not in front of, or with another status: a finding
    [diff] = judge_error("express", own, 404, env, gateway_shape=gateway).diffs
    assert "gateway's shape" in diff.note
    # no gateway declared: the same answer is judged like any other
    [lacks] = judge_error("serverless", own, 404, env).diffs
    assert "without error.code" in lacks.note


def test_the_shipped_catalog_declares_the_moc_conventions() -> None:
    catalog = load_catalog(ROOT / "fixtures" / "catalog.yaml")
    spec = catalog.checks.errors
    assert spec is not None and spec.envelope.code == "error.code"
    assert spec.validation_status == [400]
    params = {p for e in catalog.endpoints for p in e.route_params}
    assert all(spec.unknown_value(p) for p in params)
    assert catalog.checks.cors is not None and catalog.checks.cors.credentials is False
    assert catalog.checks.coverage is not None
    assert catalog.checks.coverage.label == "GET /debug/routes"


# --- CORS -----------------------------------------------------------------------------------


def test_cors_policy_shapes(tmp_path: Path) -> None:
    spec = _catalog(tmp_path, "cors: {allowed_origins: '*'}").checks.cors
    assert spec is not None and spec.any_origin and spec.disallowed_origin is None
    assert spec.origins == ["https://parity-probe.invalid"]
    listed = _catalog(tmp_path, "cors: {allowed_origins: [https://a.example]}").checks.cors
    assert listed is not None and listed.disallowed_origin is None and listed.max_age is None
    _fails(
        tmp_path,
        "cors: {allowed_origins: '*', disallowed_origin: https://evil.example}",
        "checks.cors",
        "any origin",
    )
    _fails(tmp_path, "cors: {allowed_origins: [https://a.example/]}", "is not an origin")
    _fails(tmp_path, "cors: {allowed_origins: [https://a.example], credentials: maybe}", "cors")


def _pre(headers: dict[str, str], policy: CorsChecks, method: str = "GET") -> list[Any]:
    return check_preflight(
        204,
        headers,
        origin=policy.origins[0],
        allowed=True,
        method=method,
        policy=policy,
        where="w",
        finding_origin="application",
    )


def test_only_what_the_policy_declares_is_judged() -> None:
    bare = CorsChecks(allowed_origins="*")
    # any origin, nothing else declared: "*" or the echo, nothing more is required
    assert _pre({"access-control-allow-origin": "*"}, bare) == []
    assert _pre({"access-control-allow-origin": bare.origins[0]}, bare) == []
    # a safelisted method needs no listing; another one does
    assert _pre({"access-control-allow-origin": "*"}, bare, "DELETE")[0].path == (
        "access-control-allow-methods"
    )
    creds = CorsChecks(allowed_origins="*", credentials=True)
    notes = [d.note for d in _pre({"access-control-allow-origin": "*"}, creds)]
    assert any("refused by browsers" in n for n in notes)
    assert any("credentials are allowed" in n for n in notes)
    listed = CorsChecks(allowed_origins=["https://a.example"], credentials=False)
    [star] = _pre({"access-control-allow-origin": "*"}, listed)
    assert "not the declared list" in star.note
    leak = {
        "access-control-allow-origin": "https://a.example",
        "access-control-allow-credentials": "true",
    }
    [cred] = check_actual(
        leak,
        origin="https://a.example",
        allowed=True,
        where="w",
        finding_origin="gateway",
        policy=listed,
    )
    assert "allows no credentials" in cred.note and cred.origin == "gateway"


ORIGIN = "https://app.example.com"


def _cmp(ref: dict[str, str], got: dict[str, str], allowed: bool | None = True) -> list[Any]:
    return compare_cors(
        "express",
        CorsAnswer.of(204, ref),
        "serverless",
        CorsAnswer.of(204, got),
        origin=ORIGIN,
        allowed=allowed,
        where="serverless: OPTIONS /x",
        finding_origin="gateway",
    )


def test_a_cors_difference_is_drift_even_where_both_satisfy_the_policy() -> None:
    policy = CorsChecks(allowed_origins=[ORIGIN], headers=["Authorization"], max_age=True)
    express = {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Methods": "GET,POST,PATCH",
        "Access-Control-Allow-Headers": "Authorization,Content-Type",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin, Accept-Encoding",
    }
    lambda_ = {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-methods": "PATCH, GET, POST, DELETE",
        "access-control-allow-headers": "authorization",
        "access-control-max-age": "3600",
        "access-control-allow-credentials": "true",
    }
    assert _pre(express, policy, "PATCH") == [] and _pre(lambda_, policy, "PATCH") == []
    diffs = {d.path: d for d in _cmp(express, lambda_)}
    assert set(diffs) == {
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-max-age",
        "access-control-allow-credentials",
        "vary",
    }
    assert diffs["access-control-allow-methods"].severity == "additive"  # DELETE added
    assert "lacks content-type" in diffs["access-control-allow-headers"].note
    assert diffs["access-control-allow-headers"].severity == "breaking"
    assert diffs["access-control-max-age"].severity == "cosmetic"
    assert diffs["access-control-allow-credentials"].severity == "breaking"
    assert "lacks origin" in diffs["vary"].note  # Accept-Encoding is no CORS matter
    assert all(d.origin == "gateway" for d in diffs.values())
    # case, order and spacing of lists are no difference
    spelt = {k.lower(): v.lower().replace(",", ", ") for k, v in express.items()}
    spelt["access-control-allow-origin"] = ORIGIN
    assert _cmp(express, spelt) == []


def test_a_refused_origin_compares_only_the_decision() -> None:
    express = {"access-control-allow-methods": "GET", "vary": "Origin"}  # cors(): no ACAO
    gateway: dict[str, str] = {}
    assert _cmp(express, gateway, allowed=False) == []
    [leak] = _cmp(express, {"access-control-allow-origin": "*"}, allowed=False)
    assert leak.kind == "header-added" and "lets it in" in leak.note
    # an origin both refuse says nothing more, whatever else the answers carry
    assert _cmp(express, gateway, allowed=True) == []
    [lost] = _cmp({"access-control-allow-origin": ORIGIN}, gateway, allowed=True)
    assert lost.kind == "header-removed" and "keeps" not in lost.note


# --- coverage: the source of routes ---------------------------------------------------------


OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/users": {"get": {}, "post": {}, "parameters": []},
        "/users/{id}": {"get": {}, "head": {}, "summary": "one user"},
        "/users/{userId}/posts/{postId}": {"get": {}},
        "x-internal": {"get": {}},
    },
}


def test_an_openapi_file_is_a_source_of_routes(tmp_path: Path) -> None:
    (tmp_path / "openapi.json").write_text(json.dumps(OPENAPI), encoding="utf-8")
    catalog = _catalog(tmp_path, "coverage: {openapi: {file: openapi.json}}")
    spec = catalog.checks.coverage
    assert spec is not None and spec.label == "openapi openapi.json"
    routes, where = read_routes(spec, catalog, None)  # a file needs no backend
    assert where.endswith("openapi.json")
    assert routes == [
        "GET /users",
        "POST /users",
        "GET /users/{id}",
        "HEAD /users/{id}",
        "GET /users/{userId}/posts/{postId}",
    ]
    assert catalog.uncovered_routes(routes) == ["POST /users"]  # HEAD is GET's
    prefixed = _catalog(tmp_path, "coverage: {openapi: {file: openapi.json, base_path: /api}}")
    assert prefixed.checks.coverage is not None
    assert read_routes(prefixed.checks.coverage, prefixed, None)[0][0] == "GET /api/users"
    (tmp_path / "openapi.json").write_text("{not: [json", encoding="utf-8")
    with pytest.raises(RouteSourceError, match="neither JSON nor YAML"):
        read_routes(spec, catalog, None)
    (tmp_path / "openapi.json").write_text("openapi: 3.1.0\n", encoding="utf-8")
    with pytest.raises(RouteSourceError, match="no paths"):
        read_routes(spec, catalog, None)


class _Reference:
    """A stand-in for the reference's client: one canned answer per path."""

    def __init__(self, answers: dict[str, httpx.Response]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, str, str]] = []

    def request(self, method: str, path: str, role: str = "anonymous") -> httpx.Response:
        self.sent.append((method, path, role))
        return self.answers.get(path, httpx.Response(404))


def test_an_openapi_document_on_the_reference(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, "coverage: {openapi: {url: /openapi.json}}")
    spec = catalog.checks.coverage
    assert spec is not None and spec.label == "GET /openapi.json"
    ref = _Reference({"/openapi.json": httpx.Response(200, json=OPENAPI)})
    routes, _ = read_routes(spec, catalog, ref)  # type: ignore[arg-type]
    assert "POST /users" in routes and ref.sent == [("GET", "/openapi.json", "anonymous")]
    with pytest.raises(RouteSourceUnavailable, match="not selected"):
        read_routes(spec, catalog, None)
    with pytest.raises(RouteSourceUnavailable, match="answers 404"):
        read_routes(spec, catalog, _Reference({}))  # type: ignore[arg-type]


def test_a_listing_endpoint_is_read_as_declared(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path, "coverage: {listing: {endpoint: users.list, items: data}}")
    spec = catalog.checks.coverage
    assert spec is not None and spec.label == "users.list"
    body = {"data": [{"method": "GET", "path": "/users/:id"}, {"method": ["POST"], "path": "/x"}]}
    ref = _Reference({"/users": httpx.Response(200, json=body)})
    routes, where = read_routes(spec, catalog, ref)  # type: ignore[arg-type]
    assert routes == ["GET /users/:id", "POST /x"] and where == "express GET /users"
    assert catalog.uncovered_routes(routes) == ["POST /x"]
    express = RouteListing(endpoint="GET /r", method="methods", path="route")
    assert listing_routes([{"methods": {"get": True, "put": False}, "route": "/a"}], express, "w")
    assert listing_routes(
        ["GET /a", "POST,PUT /b"], RouteListing(endpoint="GET /r", shape="strings"), "w"
    ) == [
        "GET /a",
        "POST /b",
        "PUT /b",
    ]
    pairs = RouteListing(endpoint="GET /r", items="routes", shape="pairs")
    assert listing_routes({"routes": [["GET", "/a"]]}, pairs, "w") == ["GET /a"]
    with pytest.raises(RouteSourceError, match="has no routes"):
        listing_routes({"data": []}, pairs, "w")
    with pytest.raises(RouteSourceError, match="is not a \\[method, path\\] pair"):
        listing_routes({"routes": ["GET /a"]}, pairs, "w")
    _fails(tmp_path, "coverage: {listing: {endpoint: users.get}}", "has route parameters")
    _fails(tmp_path, "coverage: {listing: {endpoint: nope}}", "unknown endpoint id 'nope'")
    _fails(tmp_path, "coverage: {}", "exactly one source")
    _fails(
        tmp_path,
        "coverage: {openapi: {file: a.json, url: /a.json}}",
        "checks.coverage.openapi",
        "exactly one",
    )
    _fails(tmp_path, "coverage: {listing: {endpoint: GET /r, shape: rows}}", "shape")


def test_an_options_endpoint_gets_no_preflight_of_its_own() -> None:
    # The catalog's OPTIONS endpoints are preflights tried by hand: preflighting them would
    # ask for OPTIONS in Access-Control-Allow-Methods, which no browser needs.
    reason = preflight_not_applicable("options")
    assert reason is not None and "itself the preflight" in reason
    assert all(preflight_not_applicable(m) is None for m in ("GET", "HEAD", "POST", "DELETE"))


# --- auth: the refusal of a bad token per endpoint ------------------------------------------


def test_an_endpoint_may_refuse_a_bad_token_with_its_own_status(tmp_path: Path) -> None:
    # httpbin's hidden-basic-auth answers 404 (it hides itself); every other endpoint 401.
    catalog = _catalog(
        tmp_path,
        """
        auth: {other_user: alice, status_of: {users.get: 404}}
        """,
    )
    spec = catalog.checks.auth
    assert spec is not None
    assert spec.refused_status("users.get") == 404 and spec.refused_status("users.list") == 401
    _fails(tmp_path, "auth: {other_user: alice, status_of: {users.nope: 404}}", "users.nope")
