"""Whose is a difference in a CORS header: the gateway's where the catalog declares one in
front (API Gateway's CORS configuration answers for the Lambdas), the application's where
it declares none (json-server, httpbin: the application sets its own CORS headers)."""

from __future__ import annotations

from parity.engine.diff import Answer, compare

REFERENCE = Answer(200, {"Access-Control-Allow-Credentials": "true", "Vary": "Origin"}, {})
CANDIDATE = Answer(200, {}, {})


def test_cors_headers_are_the_gateways_where_one_is_declared() -> None:
    found = compare(REFERENCE, CANDIDATE, cors=True, cors_gateway=True).headers
    origins = {d.path: d.origin for d in found}
    assert origins == {"access-control-allow-credentials": "gateway", "vary": "application"}


def test_cors_headers_are_the_applications_without_a_gateway() -> None:
    found = compare(REFERENCE, CANDIDATE, cors=True, cors_gateway=False).headers
    assert {d.origin for d in found} == {"application"}
    # nothing declared (no catalog): no gateway in front either
    assert compare(REFERENCE, CANDIDATE, cors=True).headers == found
