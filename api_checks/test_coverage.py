"""Catalog coverage (``pytest -m parity``): every route Express serves (its
``/debug/routes`` listing) has a catalog entry, so the parity matrix covers the whole API.

A route the catalog does not cover appears in the matrix as ``missing`` (check
``catalog``); covered routes pass. Routes listed under ``ignore_routes`` are left out on
purpose. Where Express has no ``/debug/routes`` (production) the check is not testable.
"""

from __future__ import annotations

import pytest

from parity.catalog import parse_route_listing, route_key
from parity.plugin import ParityRun, ResultSink
from parity.results import CheckResult

pytestmark = pytest.mark.parity

LISTING = "GET /debug/routes"


@pytest.mark.parity_check("catalog", endpoint=LISTING)
def test_every_express_route_is_in_the_catalog(
    parity_run: ParityRun, parity_results: ResultSink
) -> None:
    if "express" not in parity_run.selected:
        why = "Express is not selected: nothing lists the routes to cover"
        parity_results.add(CheckResult(LISTING, "catalog", "not-testable", why))
        pytest.skip(why)
    resp = parity_run.client("express").request("GET", "/debug/routes")
    if resp.status_code != 200:
        why = f"Express answers {resp.status_code} to /debug/routes (production, or no such hook)"
        parity_results.add(CheckResult(LISTING, "catalog", "not-testable", why))
        pytest.skip(why)
    catalog = parity_run.catalog
    listing = resp.json()
    missing = catalog.uncovered_routes(listing)
    served = sorted({route_key(m, p) for m, p in parse_route_listing(listing)})
    for key in served:
        if key in missing:
            parity_results.add(
                CheckResult(
                    key,
                    "catalog",
                    "missing",
                    "served by Express (/debug/routes) but not in the catalog: add an entry "
                    f"to {catalog.path} or list it under ignore_routes with a reason",
                    origin="application",
                    severity="breaking",
                )
            )
            continue
        endpoint = catalog.find(*key.split(" ", 1))
        if endpoint is not None:  # ignored routes are not endpoints of the matrix
            parity_results.add(
                CheckResult(endpoint.key, "catalog", "pass", f"catalog entry {endpoint.id}")
            )
    assert not missing, "routes Express serves that the catalog does not cover: " + ", ".join(
        missing
    )
